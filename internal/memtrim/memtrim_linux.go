//go:build linux

package memtrim

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Executable drops this process's page table entries for the read-only and
// executable mappings of its own executable file whose pages are all
// unmodified file pages. The pages stay in the kernel's page cache, shared
// and reclaimable; what the process goes on using faults back in from
// there (a minor fault, no disk read), so the resident set afterwards is
// what the process actually uses. Writable mappings (data, BSS, heap) are
// never touched, nor is a read-only one holding pages written before it was
// made read-only (relocations a dynamic loader applied): those would be
// lost. It returns the bytes of mappings released, or an error if the
// process's mappings cannot be read.
func Executable() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	released := 0
	var cur *mapping
	flush := func() {
		if cur != nil && cur.path == exe && !cur.writable && !cur.modified {
			if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, cur.start, cur.end-cur.start, syscall.MADV_DONTNEED); errno == 0 {
				released += int(cur.end - cur.start)
			}
		}
		cur = nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m, ok := parseHeader(line); ok {
			flush()
			cur = &m
			continue
		}
		if cur == nil {
			continue
		}
		// A page the process wrote was copied on write: it counts as
		// Anonymous. (Private_Dirty would also count file pages not yet
		// written back, as in a freshly built binary.)
		if v, ok := strings.CutPrefix(line, "Anonymous:"); ok && strings.TrimSpace(v) != "0 kB" {
			cur.modified = true
		}
	}
	flush()
	return released, sc.Err()
}

// mapping is one mapping of /proc/self/smaps.
type mapping struct {
	start, end uintptr
	writable   bool
	modified   bool
	path       string
}

// parseHeader parses a mapping's first line in smaps,
// "start-end perms offset dev inode path"; other lines are "Key: value".
func parseHeader(line string) (mapping, bool) {
	fields := strings.Fields(line)
	if len(fields) < 5 || strings.HasSuffix(fields[0], ":") {
		return mapping{}, false
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return mapping{}, false
	}
	m := mapping{start: uintptr(start), end: uintptr(end), writable: strings.Contains(fields[1], "w")}
	if len(fields) >= 6 {
		m.path = fields[5]
	}
	return m, true
}
