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
