package weightedroundrobin

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

func TestSlots(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		want    []uint64
	}{
		{"equal", []float64{1, 1, 1}, []uint64{1, 1, 1}},
		{"reduced by common divisor", []float64{300, 100}, []uint64{3, 1}},
		{"slow start fraction", []float64{1, 0.37}, []uint64{100, 37}},
		{"tiny and invalid weights get one slot", []float64{0, math.NaN(), -1, 0.001}, []uint64{1, 1, 1, 1}},
		{"scaled down to the cycle bound", []float64{1000, 999.99}, []uint64{16384, 16383}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := slots(balancertest.Endpoints(tc.weights...))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("slots(%v) (-want +got):\n%s", tc.weights, diff)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name  string
		slots []uint64
		want  []uint32
	}{
		{"one", []uint64{1}, []uint32{0}},
		{"equal in order", []uint64{1, 1, 1}, []uint32{0, 1, 2}},
		{"equal pairs interleave", []uint64{2, 2}, []uint32{0, 1, 0, 1}},
		{"heavy one between the light ones", []uint64{2, 1, 1}, []uint32{0, 1, 0, 2}},
		{"five one one", []uint64{5, 1, 1}, []uint32{0, 0, 0, 1, 0, 0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, schedule(tc.slots)); diff != "" {
				t.Errorf("schedule(%v) (-want +got):\n%s", tc.slots, diff)
			}
		})
	}
}

// TestPickProportions picks whole cycles and checks each endpoint got
// exactly its share, and that no endpoint runs longer than its weight
// warrants (the sequence interleaves).
func TestPickProportions(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		cycle   int
		want    map[string]int
		maxRun  int
	}{
		{"equal", []float64{1, 1, 1, 1}, 4, counts(1, 1, 1, 1), 1},
		{"three to one", []float64{3, 1}, 4, counts(3, 1), 3},
		{"two one one", []float64{2, 1, 1}, 4, counts(2, 1, 1), 1},
		{"five one one", []float64{5, 1, 1}, 7, counts(5, 1, 1), 3},
		{"slow start", []float64{2, 1, 0.5}, 7, counts(4, 2, 1), 2},
		{"large weights", []float64{600, 300, 100}, 10, counts(6, 3, 1), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Builder{}.Build(balancertest.Endpoints(tc.weights...))
			var seq []string
			for range 3 * tc.cycle {
				e, err := p.Pick(0)
				if err != nil {
					t.Fatalf("Pick: got error %v, want none", err)
				}
				seq = append(seq, e.Addr())
			}
			for c := range 3 {
				got := map[string]int{}
				for _, a := range seq[c*tc.cycle : (c+1)*tc.cycle] {
					got[a]++
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("picks in cycle %d (-want +got):\n%s", c, diff)
				}
			}
			if run := longestRun(seq); run > tc.maxRun {
				t.Errorf("longest run of one endpoint in %v: got %d, want at most %d", seq, run, tc.maxRun)
			}
		})
	}
}

func counts(n ...int) map[string]int {
	m := map[string]int{}
	for i, c := range n {
		m[balancertest.Addr(i)] = c
	}
	return m
}

func longestRun(seq []string) int {
	best, run := 0, 0
	for i := range seq {
		if i > 0 && seq[i] == seq[i-1] {
			run++
		} else {
			run = 1
		}
		best = max(best, run)
	}
	return best
}

func TestPickNoAllocs(t *testing.T) {
	balancertest.CheckNoAllocs(t, Builder{}.Build(balancertest.Endpoints(1, 2, 3, 4)))
}

func TestPickConcurrent(t *testing.T) {
	balancertest.CheckConcurrent(t, Builder{}, balancertest.Endpoints(1, 2, 0.3, 4))
}

func BenchmarkPick(b *testing.B) { balancertest.BenchmarkPick(b, Builder{}) }
