//go:build linux

package memtrim

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFile reads RssFile (kB) from /proc/self/status.
func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

func TestExecutableReleasesMappedPages(t *testing.T) {
	before := rssFile(t)
	released, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	if released == 0 {
		t.Fatalf("released no mapping of the test binary")
	}
	if after >= before {
		t.Errorf("RssFile after: got %d kB, want less than the %d kB before", after, before)
	}
	// The process goes on running: code and read-only data fault back in.
	if got := strconv.Itoa(42) + strings.Repeat("!", 2); got != "42!!" {
		t.Errorf("got %q after the trim, want 42!!", got)
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		line string
		want mapping
		ok   bool
	}{
		{"00400000-004a1000 r-xp 00000000 fe:00 10200000                           /usr/bin/pylon",
			mapping{start: 0x400000, end: 0x4a1000, path: "/usr/bin/pylon"}, true},
		{"0057d000-00588000 rw-p 0017d000 fe:00 10200000 /usr/bin/pylon",
			mapping{start: 0x57d000, end: 0x588000, writable: true, path: "/usr/bin/pylon"}, true},
		{"7ffd1000-7ffd3000 rw-p 00000000 00:00 0", mapping{start: 0x7ffd1000, end: 0x7ffd3000, writable: true}, true},
		{"Anonymous:             0 kB", mapping{}, false},
		{"VmFlags: rd ex mr mw me dw sd", mapping{}, false},
		{"zz-00 r--p 0 0:0 0", mapping{}, false},
	}
	for _, tc := range tests {
		got, ok := parseHeader(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseHeader(%q): got %+v, %v, want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
