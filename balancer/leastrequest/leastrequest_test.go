package leastrequest

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/balancer/balancertest"
)

func TestRegistered(t *testing.T) {
	if _, ok := balancer.Lookup(Name); !ok {
		t.Fatalf("Lookup(%q): got not found, want the builder", Name)
	}
}

// TestPickAvoidsLoaded puts requests in flight on some endpoints and checks
// where 10k picks go. Two distinct candidates are compared, so an endpoint
// that is strictly costlier than all others is never picked.
func TestPickAvoidsLoaded(t *testing.T) {
	tests := []struct {
		name     string
		weights  []float64
		inflight []int
		want     map[string]int
	}{
		{"single endpoint", []float64{1}, []int{50}, map[string]int{balancertest.Addr(0): 10_000}},
		{"two equal, first busy", []float64{1, 1}, []int{1, 0}, map[string]int{balancertest.Addr(1): 10_000}},
		{"two equal, second busy", []float64{1, 1}, []int{0, 3}, map[string]int{balancertest.Addr(0): 10_000}},
		{"idle heavier wins", []float64{1, 3}, []int{0, 0}, map[string]int{balancertest.Addr(1): 10_000}},
		{"weight outweighs load", []float64{1, 4}, []int{0, 2}, map[string]int{balancertest.Addr(1): 10_000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eps := balancertest.Endpoints(tc.weights...)
			for i, n := range tc.inflight {
				for range n {
					eps[i].Endpoint.Begin()
				}
			}
			got := balancertest.Count(t, Builder{}.Build(eps), 10_000, nil)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("picks per endpoint (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPickBusyOneOfMany checks a busy endpoint among idle ones gets nothing
// and the idle ones share evenly (within 3 points of a third).
func TestPickBusyOneOfMany(t *testing.T) {
	eps := balancertest.Equal(4)
	eps[0].Endpoint.Begin()
	got := balancertest.Count(t, Builder{}.Build(eps), 30_000, nil)
	if n := got[balancertest.Addr(0)]; n != 0 {
		t.Errorf("picks of the busy endpoint: got %d, want 0", n)
	}
	for i := 1; i < 4; i++ {
		if share := float64(got[balancertest.Addr(i)]) / 30_000; math.Abs(share-1.0/3) > 0.03 {
			t.Errorf("share of idle endpoint %d: got %.3f, want 0.333 ± 0.03", i, share)
		}
	}
}

// TestInFlightFollowsWeight sends requests that never end: in-flight counts
// then settle in proportion to weight, within one request.
func TestInFlightFollowsWeight(t *testing.T) {
	eps := balancertest.Endpoints(3, 1)
	p := Builder{}.Build(eps)
	for range 400 {
		e, err := p.Pick(0)
		if err != nil {
			t.Fatalf("Pick: got error %v, want none", err)
		}
		e.Begin()
	}
	for i, want := range []int64{300, 100} {
		if got := eps[i].Endpoint.InFlight(); got < want-1 || got > want+1 {
			t.Errorf("in flight on endpoint %d: got %d, want %d ± 1", i, got, want)
		}
	}
}

func TestPickNoAllocs(t *testing.T) {
	balancertest.CheckNoAllocs(t, Builder{}.Build(balancertest.Endpoints(1, 2, 3)))
}

func TestPickConcurrent(t *testing.T) {
	balancertest.CheckConcurrent(t, Builder{}, balancertest.Endpoints(1, 2, 3))
}

func BenchmarkPick(b *testing.B) { balancertest.BenchmarkPick(b, Builder{}) }
