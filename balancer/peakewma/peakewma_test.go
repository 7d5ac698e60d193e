package peakewma

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/balancer/balancertest"
)

func TestRegistered(t *testing.T) {
	if _, ok := balancer.Lookup(Name); !ok {
		t.Fatalf("Lookup(%q): got not found, want the builder", Name)
	}
}

// observe reports one finished request that took d.
func observe(e *balancer.Endpoint, d time.Duration) {
	e.Begin()
	e.End(balancer.Success, d, time.Now())
}

// TestPick sets latencies (0: no samples) and requests in flight, then
// checks where 10k picks go. Candidates are distinct, so an endpoint costlier
// than every other is never picked.
func TestPick(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		weights  []float64
		latency  []time.Duration
		inflight []int
		want     map[string]int // nil: only check endpoint 0 got nothing
	}{
		{"slow one of four avoided", []float64{1, 1, 1, 1}, []time.Duration{500 * ms, 5 * ms, 5 * ms, 5 * ms}, nil,
			nil},
		{"faster wins", []float64{1, 1}, []time.Duration{20 * ms, 10 * ms}, nil,
			map[string]int{balancertest.Addr(1): 10_000}},
		{"load outweighs speed", []float64{1, 1}, []time.Duration{10 * ms, 20 * ms}, []int{2, 0},
			map[string]int{balancertest.Addr(1): 10_000}},
		{"weight outweighs speed", []float64{1, 4}, []time.Duration{10 * ms, 20 * ms}, nil,
			map[string]int{balancertest.Addr(1): 10_000}},
		{"unsampled loses on load", []float64{1, 1}, []time.Duration{10 * ms, 0}, []int{0, 1},
			map[string]int{balancertest.Addr(0): 10_000}},
		{"unsampled wins on load", []float64{1, 1}, []time.Duration{10 * ms, 0}, []int{1, 0},
			map[string]int{balancertest.Addr(1): 10_000}},
		{"neither sampled: weight decides", []float64{1, 3}, []time.Duration{0, 0}, nil,
			map[string]int{balancertest.Addr(1): 10_000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				eps := balancertest.Endpoints(tc.weights...)
				for i, w := range eps {
					if tc.latency[i] > 0 {
						observe(w.Endpoint, tc.latency[i])
					}
					for range at(tc.inflight, i) {
						w.Endpoint.Begin()
					}
				}
				got := balancertest.Count(t, Builder{}.Build(eps), 10_000, nil)
				if tc.want == nil {
					checkNever(t, got, balancertest.Addr(0))
					return
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("picks per endpoint (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func at(s []int, i int) int {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func checkNever(t *testing.T, got map[string]int, addr string) {
	t.Helper()
	if n := got[addr]; n != 0 {
		t.Errorf("picks of %s: got %d, want 0", addr, n)
	}
}

// TestNewEndpointNeutral checks an endpoint without samples, at equal load,
// gets about half the picks against a sampled one: neither flooded nor
// starved.
func TestNewEndpointNeutral(t *testing.T) {
	eps := balancertest.Equal(2)
	observe(eps[0].Endpoint, 10*time.Millisecond)
	got := balancertest.Count(t, Builder{}.Build(eps), 10_000, nil)
	if share := float64(got[balancertest.Addr(1)]) / 10_000; math.Abs(share-0.5) > 0.05 {
		t.Errorf("share of the new endpoint: got %.3f, want 0.5 ± 0.05", share)
	}
}

// TestSlowEndpointProbedAgain checks the decay on read: an endpoint slow once
// and idle since wins again once its estimate decays below the busy one's,
// and one slow response sends traffic away again at once (the peak).
func TestSlowEndpointProbedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eps := balancertest.Equal(2)
		slow, fast := eps[0].Endpoint, eps[1].Endpoint
		p := Builder{}.Build(eps)
		observe(slow, 500*time.Millisecond)
		observe(fast, 5*time.Millisecond)
		checkNever(t, balancertest.Count(t, p, 1000, nil), slow.Addr())

		time.Sleep(60 * time.Second)
		observe(fast, 5*time.Millisecond)
		checkNever(t, balancertest.Count(t, p, 1000, nil), fast.Addr())

		observe(slow, 500*time.Millisecond)
		checkNever(t, balancertest.Count(t, p, 1000, nil), slow.Addr())
	})
}

func TestPickNoAllocs(t *testing.T) {
	eps := balancertest.Endpoints(1, 2, 3)
	observe(eps[0].Endpoint, time.Millisecond)
	balancertest.CheckNoAllocs(t, Builder{}.Build(eps))
}

func TestPickConcurrent(t *testing.T) {
	balancertest.CheckConcurrent(t, Builder{}, balancertest.Endpoints(1, 2, 3))
}

func BenchmarkPick(b *testing.B) { balancertest.BenchmarkPick(b, Builder{}) }
