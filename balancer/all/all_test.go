package all

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/balancer/balancertest"
	"github.com/pylon-mesh/pylon/config"
)

// TestNames checks every balancer config accepts is registered, and that
// each builds a working picker.
func TestNames(t *testing.T) {
	want := []string{config.BalancerLeastRequest, config.BalancerMaglev, config.BalancerPeakEWMA, config.BalancerRandom,
		config.BalancerRingHash, config.BalancerRoundRobin, config.BalancerWeightedRoundRobin}
	if diff := cmp.Diff(want, balancer.Names()); diff != "" {
		t.Fatalf("balancer.Names() (-want +got):\n%s", diff)
	}
	for _, name := range want {
		b, _ := balancer.Lookup(name)
		if got := b.Name(); got != name {
			t.Errorf("Lookup(%q).Name(): got %q, want %q", name, got, name)
		}
		balancertest.Count(t, b.Build(balancertest.Endpoints(1, 2)), 10, balancertest.KeyHash)
	}
}
