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
// executable mappings of its own executable file. The pages stay in the
// kernel's page cache, shared and reclaimable; what the process goes on
// using faults back in from there (a minor fault, no disk read), so the
// resident set afterwards is what the process actually uses. Writable
// mappings (data, BSS, heap) are never touched. It returns the bytes of
// mappings released, or an error if the process's maps cannot be read.
func Executable() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	released := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); errno == 0 {
			released += int(end - start)
		}
	}
	return released, sc.Err()
}
