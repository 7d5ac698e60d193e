package random

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

// TestPickShares checks each endpoint's share of 100k picks is within 3
// points of its weight's share (about 20 standard deviations: never flaky).
func TestPickShares(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		want    []float64
	}{
		{"one", []float64{1}, []float64{1}},
		{"equal", []float64{1, 1, 1, 1}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"weighted", []float64{5, 3, 2}, []float64{0.5, 0.3, 0.2}},
		{"slow start", []float64{1, 0.25}, []float64{0.8, 0.2}},
		{"zero weight never picked", []float64{1, 0, 1}, []float64{0.5, 0, 0.5}},
		{"all zero counts as equal", []float64{0, 0}, []float64{0.5, 0.5}},
	}
	const picks = 100_000
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Builder{}.Build(balancertest.Endpoints(tc.weights...))
			got := balancertest.Count(t, p, picks, nil)
			for i, want := range tc.want {
				share := float64(got[balancertest.Addr(i)]) / picks
				if math.Abs(share-want) > 0.03 {
					t.Errorf("share of endpoint %d: got %.3f, want %.3f ± 0.03", i, share, want)
				}
			}
		})
	}
}

func TestPickNoAllocs(t *testing.T) {
	for _, w := range [][]float64{{1, 1, 1}, {1, 2, 3}} {
		balancertest.CheckNoAllocs(t, Builder{}.Build(balancertest.Endpoints(w...)))
	}
}

func TestPickConcurrent(t *testing.T) {
	balancertest.CheckConcurrent(t, Builder{}, balancertest.Endpoints(1, 2, 3))
}

func BenchmarkPick(b *testing.B) { balancertest.BenchmarkPick(b, Builder{}) }
