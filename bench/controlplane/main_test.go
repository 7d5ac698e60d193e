//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/bench/internal/benchcmd"
	"github.com/pylon-mesh/pylon/bench/internal/proc"
)

// TestRunSmall runs the whole benchmark at a tiny size, so that it keeps
// building and working: a real `pylon control`, five enrolled nodes, one
// endpoint change.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts pylon control")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pylon, err := proc.BuildPylon(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, decode := range []string{"full", "envelope", "version"} {
		t.Run("decode="+decode, func(t *testing.T) {
			o := options{Common: benchcmd.Common{Pylon: pylon, Timeout: time.Minute}, nodes: 5, services: 2, endpoints: 3, rounds: 2, decode: decode}
			var logs bytes.Buffer
			res, err := run(ctx, o, &logs)
			if err != nil {
				t.Fatalf("run: %v\nprogress:\n%s", err, &logs)
			}
			got := shape{Rounds: len(res.rounds), Drops: res.drops, HasMemory: res.memory.RSS > 0 && res.memoryEnd.HWM >= res.memory.HWM}
			for _, r := range res.rounds {
				got.Latencies = append(got.Latencies, len(r.latency))
			}
			want := shape{Rounds: 2, Latencies: []int{5, 5}, Drops: map[string]int{}, HasMemory: true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("result shape (-want +got):\n%s", diff)
			}
			var out bytes.Buffer
			res.Print(&out)
			if !strings.Contains(out.String(), "| all |") {
				t.Errorf("report has no \"all\" row:\n%s", &out)
			}
		})
	}
}

// shape is what a run must produce whatever the machine's speed.
type shape struct {
	Rounds    int
	Latencies []int // latencies recorded per round
	Drops     map[string]int
	HasMemory bool
}

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"defaults", nil, false},
		{"small", []string{"--nodes", "5", "--services", "2", "--endpoints", "3", "--rounds", "1", "--decode", "version"}, false},
		{"zero nodes", []string{"--nodes", "0"}, true},
		{"bad decode", []string{"--decode", "some"}, true},
		{"no timeout", []string{"--timeout", "0s"}, true},
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

func TestDocumentsStayWithinTheApplyLimit(t *testing.T) {
	tests := []struct {
		services int
		want     []int // changed resources per document
	}{
		{1, []int{3}},
		{60, []int{121}},
		{61, []int{121, 2}},
		{130, []int{121, 120, 20}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.services), func(t *testing.T) {
			docs, err := newWorkload(tc.services, 2).documents()
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, b := range docs {
				var d document
				if err := json.Unmarshal(b, &d); err != nil {
					t.Fatal(err)
				}
				got = append(got, len(d.Listeners)+len(d.Routes)+len(d.Services))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("changes per document (-want +got):\n%s", diff)
			}
		})
	}
}
