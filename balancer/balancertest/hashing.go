package balancertest

import (
	"slices"
	"testing"

	"github.com/pylon-mesh/pylon/balancer"
)

// keys is how many keys the hashing checks map.
const keys = 10_000

// Mapping returns the address each of the keys KeyHash(0..9999) picks.
func Mapping(t testing.TB, p balancer.Picker) []string {
	t.Helper()
	out := make([]string, keys)
	for i := range out {
		e, err := p.Pick(KeyHash(i))
		if err != nil {
			t.Fatalf("Pick: got error %v, want none", err)
		}
		out[i] = e.Addr()
	}
	return out
}

// CheckConsistent builds b over n equal endpoints and again without one of
// them, and fails t unless fewer than maxMoved of the keys change endpoint.
// Keys of the removed endpoint must move; the rest should stay.
func CheckConsistent(t *testing.T, b balancer.Builder, n int, maxMoved float64) {
	t.Helper()
	eps := Equal(n)
	before := Mapping(t, b.Build(eps))
	gone := eps[n/2].Endpoint.Addr()
	after := Mapping(t, b.Build(slices.Delete(slices.Clone(eps), n/2, n/2+1)))
	moved := 0
	for i := range before {
		if before[i] != after[i] {
			moved++
		}
		if after[i] == gone {
			t.Fatalf("key %d: got the removed endpoint %s", i, gone)
		}
	}
	if frac := float64(moved) / keys; frac >= maxMoved {
		t.Errorf("removing 1 of %d endpoints: got %.3f of keys moved, want < %.3f", n, frac, maxMoved)
	}
}

// CheckOrderIndependent fails t unless building b over eps in reverse order
// maps every key to the same endpoint, as gateways that learn endpoints in
// different orders must.
func CheckOrderIndependent(t *testing.T, b balancer.Builder, eps []balancer.Weighted) {
	t.Helper()
	rev := slices.Clone(eps)
	slices.Reverse(rev)
	if want, got := Mapping(t, b.Build(eps)), Mapping(t, b.Build(rev)); !slices.Equal(want, got) {
		t.Errorf("mapping after reversing the endpoints differs from the original")
	}
}

// CheckSameKeySameEndpoint fails t unless repeated picks of one key return
// one endpoint.
func CheckSameKeySameEndpoint(t *testing.T, p balancer.Picker) {
	t.Helper()
	first := Mapping(t, p)
	if again := Mapping(t, p); !slices.Equal(first, again) {
		t.Errorf("second mapping of the same keys differs from the first")
	}
}
