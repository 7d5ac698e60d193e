package proxy

import (
	"testing"

	"github.com/pylon-mesh/pylon/balancer"
)

// firstOnly is a balancer that always picks its first endpoint, as a
// load-aware one keeps picking an endpoint that fails fast.
type firstOnly struct{}

func (firstOnly) Name() string { return "first_only" }

func (firstOnly) Build(eps []balancer.Weighted) balancer.Picker { return firstPicker(eps) }

type firstPicker []balancer.Weighted

func (p firstPicker) Pick(uint64) (*balancer.Endpoint, error) { return p[0].Endpoint, nil }

// TestPickOtherLeavesTheFailedEndpoint: a retry goes to another endpoint
// whenever one may take traffic, whatever the balancer prefers.
func TestPickOtherLeavesTheFailedEndpoint(t *testing.T) {
	a, b := balancer.NewEndpoint("10.0.0.1:80", 1), balancer.NewEndpoint("10.0.0.2:80", 1)
	set := balancer.NewSet(firstOnly{}, []*balancer.Endpoint{a, b}, 50, 0)
	for range 20 {
		if ep, err := pickOther(set, 0, a); err != nil || ep != b {
			t.Fatalf("retry after %s: got %v, %v; want %s", a.Addr(), ep, err, b.Addr())
		}
	}
	alone := balancer.NewSet(firstOnly{}, []*balancer.Endpoint{a}, 50, 0)
	if ep, _ := pickOther(alone, 0, a); ep != a {
		t.Errorf("with one endpoint, a retry goes to it again; got %v", ep)
	}
}
