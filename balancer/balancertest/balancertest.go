// Package balancertest holds helpers shared by the pickers' tests: endpoint
// fixtures, pick counting, the allocation and concurrency checks every
// picker must pass, and the common Pick benchmark.
package balancertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
)

// Addr is the address Endpoints gives the i-th endpoint.
func Addr(i int) string { return fmt.Sprintf("10.0.%d.%d:8080", i/256, i%256) }

// Endpoints returns one endpoint per weight, addressed Addr(0), Addr(1), ...,
// each handed to the picker with its weight.
func Endpoints(weights ...float64) []balancer.Weighted {
	out := make([]balancer.Weighted, len(weights))
	for i, w := range weights {
		out[i] = balancer.Weighted{Endpoint: balancer.NewEndpoint(Addr(i), int(w)), Weight: w}
	}
	return out
}

// Equal returns n endpoints of weight 1.
func Equal(n int) []balancer.Weighted {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return Endpoints(w...)
}

// Count picks n times, the i-th pick with hash(i), and returns how many picks
// each address got. A nil hash picks with 0 (no key).
func Count(t testing.TB, p balancer.Picker, n int, hash func(i int) uint64) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		var h uint64
		if hash != nil {
			h = hash(i)
		}
		e, err := p.Pick(h)
		if err != nil {
			t.Fatalf("Pick(%d): got error %v, want none", h, err)
		}
		got[e.Addr()]++
	}
	return got
}

// KeyHash is a hash function for Count: the hash of "key-<i>".
func KeyHash(i int) uint64 { return balancer.HashString(fmt.Sprintf("key-%d", i)) }

// CheckNoAllocs fails t if Pick allocates, with and without a hash.
func CheckNoAllocs(t *testing.T, p balancer.Picker) {
	t.Helper()
	for _, h := range []uint64{0, balancer.HashString("user-42")} {
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := p.Pick(h); err != nil {
				t.Fatalf("Pick(%d): got error %v, want none", h, err)
			}
		})
		if allocs != 0 {
			t.Errorf("Pick(%d): got %v allocations, want 0", h, allocs)
		}
	}
}

// CheckConcurrent picks from many goroutines while others report requests
// to the endpoints, so that -race sees every read Pick makes, and checks
// that each pick is one of eps.
func CheckConcurrent(t *testing.T, b balancer.Builder, eps []balancer.Weighted) {
	t.Helper()
	p := b.Build(eps)
	known := map[*balancer.Endpoint]bool{}
	for _, w := range eps {
		known[w.Endpoint] = true
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() { errs <- pickMany(p, known, g) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// pickMany is one CheckConcurrent goroutine: it picks, and reports a request
// with a latency to what it picked, as the proxy does.
func pickMany(p balancer.Picker, known map[*balancer.Endpoint]bool, g int) error {
	for i := range 2000 {
		h := uint64(0)
		if i%2 == 1 {
			h = KeyHash(g*2000 + i)
		}
		e, err := p.Pick(h)
		if err != nil {
			return fmt.Errorf("goroutine %d pick %d: got error %w, want none", g, i, err)
		}
		if !known[e] {
			return fmt.Errorf("goroutine %d pick %d: got endpoint %s, want one of the built ones", g, i, e.Addr())
		}
		e.Begin()
		e.End(balancer.Success, 1000*1000, time.Now())
	}
	return nil
}

// BenchmarkPick measures Pick from parallel goroutines over 8 and 64
// endpoints of mixed weights (1 to 4), with varying affinity hashes.
func BenchmarkPick(b *testing.B, bl balancer.Builder) {
	for _, n := range []int{8, 64} {
		w := make([]float64, n)
		for i := range w {
			w[i] = float64(i%4 + 1)
		}
		p := bl.Build(Endpoints(w...))
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				h := uint64(1)
				for pb.Next() {
					// A 64-bit LCG: cheap, allocation-free, never 0 once ORed with 1.
					h = h*6364136223846793005 + 1442695040888963407
					if _, err := p.Pick(h | 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
