package maglev

import (
	"math"
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

func TestDeterministic(t *testing.T) {
	eps := balancertest.Endpoints(1, 2, 3, 4, 5)
	balancertest.CheckOrderIndependent(t, Builder{}, eps)
	balancertest.CheckSameKeySameEndpoint(t, Builder{}.Build(eps))
}

// TestTableShares checks each endpoint's share of table slots is within 1
// point of its weight's share.
func TestTableShares(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
	}{
		{"one", []float64{1}},
		{"equal", []float64{1, 1, 1, 1}},
		{"weighted", []float64{1, 2, 3, 4}},
		{"slow start", []float64{1, 1, 0.1}},
		{"wide range", []float64{1000, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Builder{}.Build(balancertest.Endpoints(tc.weights...)).(*picker)
			slots := make([]int, len(tc.weights))
			for _, i := range p.table {
				slots[i]++
			}
			var total float64
			for _, w := range tc.weights {
				total += w
			}
			for i, w := range tc.weights {
				share := float64(slots[i]) / TableSize
				if want := w / total; math.Abs(share-want) > 0.01 {
					t.Errorf("table share of endpoint %d: got %.4f, want %.4f ± 0.01", i, share, want)
				}
			}
		})
	}
}

// TestKeylessShares checks picks without a key follow the weights within 3
// points over 100k picks.
func TestKeylessShares(t *testing.T) {
	weights := []float64{1, 2, 3, 4}
	got := balancertest.Count(t, Builder{}.Build(balancertest.Endpoints(weights...)), 100_000, nil)
	for i, w := range weights {
		share := float64(got[balancertest.Addr(i)]) / 100_000
		if want := w / 10; math.Abs(share-want) > 0.03 {
			t.Errorf("keyless share of endpoint %d: got %.3f, want %.3f ± 0.03", i, share, want)
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
