//go:build linux

package proc

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "42 (pylon) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0 100 1000 50", 2800 * time.Millisecond, false},
		{"name with spaces and parens", "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 9 0 100 1000 50", 100 * time.Millisecond, false},
		{"no name", "42 S 1", 0, true},
		{"too short", "42 (pylon) S 1 2", 0, true},
		{"not a number", "42 (pylon) S 1 42 42 0 -1 4194560 100 0 0 0 x 30 0", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.line))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got parseStat = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	for _, tc := range []struct {
		line    string
		want    time.Duration
		wantErr bool
	}{
		{"1175800000 831500000 28652\n", 831500000, false},
		{"0 0 0", 0, false},
		{"1 2", 0, true},
		{"1 x 3", 0, true},
	} {
		got, err := parseSchedstat([]byte(tc.line))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseSchedstat(%q) = %v, %v; want %v, error %v", tc.line, got, err, tc.want, tc.wantErr)
		}
	}
}

// Processes that compute, one more of them than there are CPUs, wait for
// a CPU in turn: each one's run-queue wait grows.
func TestReadRunWait(t *testing.T) {
	var spinners []*exec.Cmd
	for range runtime.NumCPU() + 1 {
		c := exec.Command("sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		spinners = append(spinners, c)
	}
	defer func() {
		for _, c := range spinners {
			c.Process.Kill()
			c.Wait()
		}
	}()
	pid := spinners[0].Process.Pid
	before, err := ReadRunWait(pid)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	after, err := ReadRunWait(pid)
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 10*time.Millisecond {
		t.Errorf("a process computing beside %d others on %d CPUs waited %v for a CPU in 500 ms, want 10 ms at least", runtime.NumCPU(), runtime.NumCPU(), after-before)
	}
}

func TestParseStatus(t *testing.T) {
	full := "Name:\tpylon\nVmHWM:\t   30000 kB\nVmRSS:\t   22000 kB\nRssAnon:\t    4000 kB\nRssFile:\t   18000 kB\nRssShmem:\t       0 kB\n"
	tests := []struct {
		name    string
		status  string
		want    Memory
		wantErr bool
	}{
		{"all four", full, Memory{RSS: 22000 << 10, HWM: 30000 << 10, Anon: 4000 << 10, File: 18000 << 10}, false},
		{"one missing", strings.Replace(full, "RssFile", "RssFiles", 1), Memory{}, true},
		{"not a number", strings.Replace(full, "4000 kB", "x kB", 1), Memory{}, true},
		{"empty", "", Memory{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatus(tc.status)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got parseStatus error %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parseStatus (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryMax(t *testing.T) {
	a := Memory{RSS: 3, HWM: 1, Anon: 5, File: 0}
	b := Memory{RSS: 2, HWM: 4, Anon: 5, File: 7}
	if diff := cmp.Diff(Memory{RSS: 3, HWM: 4, Anon: 5, File: 7}, a.Max(b)); diff != "" {
		t.Errorf("Max (-want +got):\n%s", diff)
	}
}

func TestReadSelf(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS || m.Anon <= 0 {
		t.Errorf("got VmRSS %d, VmHWM %d, RssAnon %d, want 0 < VmRSS <= VmHWM and RssAnon > 0", m.RSS, m.HWM, m.Anon)
	}
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Errorf("got ReadCPU error %v, want none", err)
	}
	if got := strings.Fields(LoadAverage()); len(got) != 3 {
		t.Errorf("got load average %q, want three fields", got)
	}
}

func TestReadGone(t *testing.T) {
	const pid = 1 << 30 // above the kernel's pid_max
	if _, err := ReadMemory(pid); err == nil {
		t.Error("got no ReadMemory error for a missing process, want one")
	}
	if _, err := ReadCPU(pid); err == nil {
		t.Error("got no ReadCPU error for a missing process, want one")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (pylon) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0 100 1000 50"))
	f.Add([]byte("42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 9 0 100 1000 50"))
	f.Add([]byte("42 S 1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := parseStat(b); err != nil && d != 0 {
			t.Errorf("got %v with error %v, want 0 with an error", d, err)
		}
	})
}

func TestParseMachineCPU(t *testing.T) {
	for _, tc := range []struct {
		name    string
		text    string
		want    MachineCPU
		wantErr bool
	}{
		{"with guest times", "cpu  100 0 50 800 10 0 20 20 0 0\ncpu0 50 0 25 400 5 0 10 10 0 0\n", MachineCPU{Total: 1000, Steal: 20}, false},
		{"eight times", "cpu 1 2 3 4 5 6 7 8\n", MachineCPU{Total: 36, Steal: 8}, false},
		{"before steal was counted", "cpu 1 2 3 4 5 6 7\n", MachineCPU{}, true},
		{"not the cpu line", "intr 1 2 3 4 5 6 7 8 9\n", MachineCPU{}, true},
		{"not a number", "cpu 1 2 3 4 5 6 7 x\n", MachineCPU{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMachineCPU([]byte(tc.text))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseMachineCPU = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestStealShare(t *testing.T) {
	a, b := MachineCPU{Total: 1000, Steal: 20}, MachineCPU{Total: 1400, Steal: 60}
	if got := a.StealShare(b); got != 0.1 {
		t.Errorf("40 of 400 ticks stolen: StealShare = %v, want 0.1", got)
	}
	if got := a.StealShare(a); got != 0 {
		t.Errorf("no time passed: StealShare = %v, want 0", got)
	}
	m, err := ReadMachineCPU()
	if err != nil || m.Total <= 0 || m.Steal < 0 || m.Steal > m.Total {
		t.Errorf("ReadMachineCPU = %+v, %v; want a positive total holding the steal", m, err)
	}
}
