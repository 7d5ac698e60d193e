package roundrobin

import (
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

func TestPickCyclesInOrder(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
	}{
		{"one", []float64{1}},
		{"three equal", []float64{1, 1, 1}},
		{"weights ignored", []float64{5, 1, 0.1, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eps := balancertest.Endpoints(tc.weights...)
			p := Builder{}.Build(eps)
			var got []string
			for range 3 * len(eps) {
				e, err := p.Pick(0)
				if err != nil {
					t.Fatalf("Pick: got error %v, want none", err)
				}
				got = append(got, e.Addr())
			}
			start := index(eps, got[0])
			var want []string
			for i := range 3 * len(eps) {
				want = append(want, eps[(start+i)%len(eps)].Endpoint.Addr())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pick sequence (-want +got):\n%s", diff)
			}
		})
	}
}

func index(eps []balancer.Weighted, addr string) int {
	for i, w := range eps {
		if w.Endpoint.Addr() == addr {
			return i
		}
	}
	return -1
}

func TestPickNoAllocs(t *testing.T) {
	balancertest.CheckNoAllocs(t, Builder{}.Build(balancertest.Equal(8)))
}

func TestPickConcurrent(t *testing.T) {
	balancertest.CheckConcurrent(t, Builder{}, balancertest.Equal(5))
}

func BenchmarkPick(b *testing.B) { balancertest.BenchmarkPick(b, Builder{}) }
