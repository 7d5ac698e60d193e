//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/bench/internal/benchcmd"
	"github.com/pylon-mesh/pylon/bench/internal/proc"
)

// TestRunSmall runs the whole benchmark briefly at 100 req/s, so that it
// keeps building and working: a real control plane and two real
// sidecars, one round per target and the profiles.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pylon and starts a control plane and two sidecars")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	pylon, err := proc.BuildPylon(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	o := options{Common: benchcmd.Common{Pylon: pylon, Timeout: time.Minute}, rate: 100, rounds: 1, duration: time.Second,
		warmup: 200 * time.Millisecond, conns: 2, settle: 100 * time.Millisecond, profile: filepath.Join(dir, "profiles")}
	var logs bytes.Buffer
	res, err := run(ctx, o, &logs)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, &logs)
	}
	got := runShape{Memory: map[string]bool{}, CPU: map[string]bool{}, Wait: map[string]bool{}}
	for _, rr := range res.rounds {
		got.Rounds = append(got.Rounds, rr.target)
		got.Requests = append(got.Requests, rr.summary.Requests)
		got.Errors += rr.summary.Errors
	}
	for _, n := range sidecarNames {
		got.Memory[n] = res.idle[n].Anon > 0 && res.loaded(n).RSS > 0 && res.after[n].HWM >= res.after[n].RSS
		got.CPU[n] = res.of(mesh)[0].cpu[n] >= 0
		_, got.Wait[n] = res.runWait(n)
		_, err := os.Stat(filepath.Join(o.profile, n+".pprof"))
		got.Profiles = append(got.Profiles, err == nil)
	}
	want := runShape{
		Rounds:   []string{direct, mesh},
		Requests: []int{100, 100},
		Memory:   map[string]bool{"client": true, "server": true},
		CPU:      map[string]bool{"client": true, "server": true},
		Wait:     map[string]bool{"client": true, "server": true},
		Profiles: []bool{true, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result shape (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	res.Print(&out)
	for _, s := range []string{"| added (mesh − direct) |", "| both |", "| sidecar RSS idle < 20 MB |", "waiting for a CPU, per request |",
		"stolen: direct, mesh round |", "under 1% of the machine's CPU (steal time"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report has no %q:\n%s", s, &out)
		}
	}
}

// runShape is what a run must produce whatever the machine's speed.
type runShape struct {
	Rounds   []string // targets in the order they ran
	Requests []int
	Errors   int
	Memory   map[string]bool // sidecar -> every memory figure read
	CPU      map[string]bool // sidecar -> CPU read for the mesh round
	Wait     map[string]bool // sidecar -> run-queue wait read for the mesh round
	Profiles []bool
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"defaults", nil, false},
		{"small", []string{"--rate", "100", "--rounds", "1", "--duration", "1s", "--warmup", "0s", "--profile", "p"}, false},
		{"zero rate", []string{"--rate", "0"}, true},
		{"zero conns", []string{"--conns", "0"}, true},
		{"zero duration", []string{"--duration", "0s"}, true},
		{"negative settle", []string{"--settle", "-1s"}, true},
		{"profile of a short round", []string{"--duration", "500ms", "--profile", "p"}, true},
		{"unknown flag", []string{"--nope"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Errorf("parseFlags(%q) error = %v, want error %v", tc.args, err, tc.wantErr)
			}
		})
	}
}

// usec returns the durations of n microseconds.
func usec(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Microsecond
	}
	return out
}

func TestSummarize(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // descending, so summarize must sort
	}
	tests := []struct {
		name   string
		lat    []time.Duration
		errors int
		want   summary
	}{
		{"empty keeps errors", nil, 2, summary{Errors: 2}},
		{"one", usec(7), 0, summary{Requests: 1, P50: 7 * time.Microsecond, P99: 7 * time.Microsecond,
			P999: 7 * time.Microsecond, Max: 7 * time.Microsecond}},
		{"hundred, exact ranks", usec(hundred...), 1, summary{Requests: 100, Errors: 1, P50: 50 * time.Microsecond,
			P99: 99 * time.Microsecond, P999: 100 * time.Microsecond, Max: 100 * time.Microsecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, summarize(tc.lat, tc.errors)); diff != "" {
				t.Errorf("summarize (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"odd", usec(5, 1, 3), 3 * time.Microsecond},
		{"even takes the mean of the middle two", usec(4, 1, 2, 10), 3 * time.Microsecond},
		{"negative", usec(-5, 1, -3), -3 * time.Microsecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// round is a roundResult with the given latencies and per-sidecar CPU.
func round(i int, target string, p50, p99 int, requests int, client, server time.Duration) roundResult {
	return roundResult{index: i, target: target,
		summary: summary{Requests: requests, P50: time.Duration(p50) * time.Microsecond, P99: time.Duration(p99) * time.Microsecond},
		cpu:     map[string]time.Duration{"client": client, "server": server},
		wait:    map[string]time.Duration{"client": client / 2, "server": server / 4},
		peak:    map[string]proc.Memory{"client": {RSS: int64(i) << 20, Anon: 1}, "server": {RSS: int64(2*i) << 20, Anon: int64(3 - i)}}}
}

func TestResultFigures(t *testing.T) {
	res := &result{rounds: []roundResult{
		round(1, direct, 100, 300, 1000, 0, 0),
		round(1, mesh, 400, 900, 1000, 100*time.Millisecond, 200*time.Millisecond),
		round(2, mesh, 350, 1000, 2000, 300*time.Millisecond, 200*time.Millisecond),
		round(2, direct, 90, 200, 1000, 0, 0),
		round(3, direct, 110, 400, 1000, 0, 0),
		round(3, mesh, 500, 800, 1000, 50*time.Millisecond, 100*time.Millisecond),
	}}
	type figures struct {
		AddedP50, AddedP99     time.Duration
		Client, Server, Both   float64
		PeakClient, PeakServer proc.Memory
		DirectP50, MeshP99     time.Duration
		Requests               int
		WaitClient, WaitServer time.Duration
	}
	a50, a99 := res.added()
	waitClient, _ := res.runWait("client")
	waitServer, _ := res.runWait("server")
	got := figures{AddedP50: a50, AddedP99: a99, Client: res.vcpu("client"), Server: res.vcpu("server"), Both: res.vcpu(""),
		PeakClient: res.loaded("client"), PeakServer: res.loaded("server"),
		DirectP50: res.latency(direct).p50, MeshP99: res.latency(mesh).p99, Requests: res.latency(mesh).requests,
		WaitClient: waitClient, WaitServer: waitServer}
	want := figures{
		AddedP50:   300 * time.Microsecond,                                                             // rounds: 300, 260, 390
		AddedP99:   600 * time.Microsecond,                                                             // rounds: 600, 800, 400
		Client:     0.1,                                                                                // s per 1000 requests: 0.1, 0.15, 0.05
		Server:     0.1,                                                                                // 0.2, 0.1, 0.1
		Both:       0.25,                                                                               // 0.3, 0.25, 0.15
		PeakClient: proc.Memory{RSS: 3 << 20, Anon: 1}, PeakServer: proc.Memory{RSS: 6 << 20, Anon: 2}, // each figure its own max: RSS from round 3, Anon from round 1
		DirectP50: 100 * time.Microsecond, MeshP99: 900 * time.Microsecond, Requests: 4000,
		WaitClient: 50 * time.Microsecond, // per request: 50, 75, 25 µs
		WaitServer: 25 * time.Microsecond, // 50, 25, 25 µs
	}
	opt := cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("figures (-want +got):\n%s", diff)
	}
	// Pairs of rounds in which the hypervisor took little of the machine:
	// 1 (0.2% and 0.5%) and 3 (none); pair 2 is out (5% in the mesh
	// round), and so would be a pair with a round unmeasured.
	for i, steal := range []float64{0.002, 0.005, 0.05, 0, 0, 0} {
		res.rounds[i].steal = steal
	}
	if q50, q99, pairs := res.addedQuiet(); q50 != 345*time.Microsecond || q99 != 500*time.Microsecond || pairs != 2 {
		t.Errorf("addedQuiet = %v, %v, %d; want 345µs, 500µs over 2 pairs (300 and 390, 600 and 400)", q50, q99, pairs)
	}
	res.rounds[5].steal = -1
	if q50, q99, pairs := res.addedQuiet(); q50 != 300*time.Microsecond || q99 != 600*time.Microsecond || pairs != 1 {
		t.Errorf("addedQuiet with round 3's mesh steal unknown = %v, %v, %d; want 300µs, 600µs over 1 pair", q50, q99, pairs)
	}
	res.rounds[0].steal = 0.01
	if _, _, pairs := res.addedQuiet(); pairs != 0 {
		t.Errorf("addedQuiet with no quiet pair left: %d pairs, want 0", pairs)
	}

	// A round whose waits the kernel did not give leaves the figure out.
	res.rounds[1].wait = nil
	if d, ok := res.runWait("client"); ok {
		t.Errorf("runWait with a round unmeasured = %v, true; want unknown", d)
	}
}
