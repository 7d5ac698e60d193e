package ringhash

import (
	"math"
	"slices"
	"testing"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/balancer/balancertest"
)

func TestRegistered(t *testing.T) {
	if _, ok := balancer.Lookup(Name); !ok {
		t.Fatalf("Lookup(%q): got not found, want the builder", Name)
	}
}

func TestConsistent(t *testing.T) {
	for _, n := range []int{3, 10, 50} {
		balancertest.CheckConsistent(t, Builder{}, n, 2/float64(n))
	}
}

// TestOnlyRemovedKeysMove checks the ring's defining property: the other
// endpoints keep their nodes, so only the removed endpoint's keys move.
func TestOnlyRemovedKeysMove(t *testing.T) {
	eps := balancertest.Endpoints(1, 2, 1, 3, 1)
	before := balancertest.Mapping(t, Builder{}.Build(eps))
	after := balancertest.Mapping(t, Builder{}.Build(slices.Delete(slices.Clone(eps), 2, 3)))
	gone := eps[2].Endpoint.Addr()
	for i := range before {
		if before[i] != gone && after[i] != before[i] {
			t.Fatalf("key %d: got moved from %s to %s, want only keys of %s moved", i, before[i], after[i], gone)
		}
	}
}

func TestDeterministic(t *testing.T) {
	eps := balancertest.Endpoints(1, 2, 3, 4, 5)
	balancertest.CheckOrderIndependent(t, Builder{}, eps)
	balancertest.CheckSameKeySameEndpoint(t, Builder{}.Build(eps))
}

// TestShares checks keyed and keyless picks follow the weights: within 5
// points for 10k keys (the ring's own unevenness dominates), within 5
// points for 100k keyless picks.
func TestShares(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
	}{
		{"equal", []float64{1, 1, 1, 1}},
		{"weighted", []float64{1, 2, 3, 4}},
		{"slow start", []float64{1, 1, 0.1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Builder{}.Build(balancertest.Endpoints(tc.weights...))
			checkShares(t, "keyed", balancertest.Count(t, p, 10_000, balancertest.KeyHash), tc.weights)
			checkShares(t, "keyless", balancertest.Count(t, p, 100_000, nil), tc.weights)
		})
	}
}

func checkShares(t *testing.T, what string, got map[string]int, weights []float64) {
	t.Helper()
	var total float64
	var picks int
	for i, w := range weights {
		total += w
		picks += got[balancertest.Addr(i)]
	}
	for i, w := range weights {
		share := float64(got[balancertest.Addr(i)]) / float64(picks)
		if want := w / total; math.Abs(share-want) > 0.05 {
			t.Errorf("%s share of endpoint %d: got %.3f, want %.3f ± 0.05", what, i, share, want)
		}
	}
}

func TestRingSize(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want int
	}{
		{"one endpoint gets the minimum", 1, minRingSize},
		{"per endpoint", 100, 100 * nodesPerEndpoint},
		{"large set capped", 1024, maxRingSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Builder{}.Build(balancertest.Equal(tc.n)).(*picker)
			if got := len(p.hashes); got != tc.want {
				t.Errorf("ring size for %d endpoints: got %d, want %d", tc.n, got, tc.want)
			}
		})
	}
}

func TestPickNoAllocs(t *testing.T) {
	balancertest.CheckNoAllocs(t, Builder{}.Build(balancertest.Endpoints(1, 2, 3)))
}

func TestPickConcurrent(t *testing.T) {
	balancertest.CheckConcurrent(t, Builder{}, balancertest.Endpoints(1, 2, 3))
}

func BenchmarkPick(b *testing.B) { balancertest.BenchmarkPick(b, Builder{}) }
