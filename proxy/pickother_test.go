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
	onA := triedOn(a)
	for range 20 {
		if ep, err := PickOther(set, 0, &onA); err != nil || ep != b {
			t.Fatalf("retry after %s: got %v, %v; want %s", a.Addr(), ep, err, b.Addr())
		}
	}
	alone := balancer.NewSet(firstOnly{}, []*balancer.Endpoint{a}, 50, 0)
	if ep, _ := PickOther(alone, 0, &onA); ep != a {
		t.Errorf("with one endpoint, a retry goes to it again; got %v", ep)
	}
}

// triedOn is a request's tries on eps.
func triedOn(eps ...*balancer.Endpoint) Tried {
	var t Tried
	for _, ep := range eps {
		t.Add(ep)
	}
	return t
}

// TestPickOtherAvoidsEveryTriedEndpoint: a third try goes to the one
// endpoint not tried yet, not back to the first, which the balancer
// prefers (it failed fast, so its latency looks best).
func TestPickOtherAvoidsEveryTriedEndpoint(t *testing.T) {
	a, b, c := balancer.NewEndpoint("10.0.0.1:80", 1), balancer.NewEndpoint("10.0.0.2:80", 1), balancer.NewEndpoint("10.0.0.3:80", 1)
	set := balancer.NewSet(firstOnly{}, []*balancer.Endpoint{a, b, c}, 50, 0)
	onAB := triedOn(a, b)
	for range 20 {
		if ep, err := PickOther(set, 0, &onAB); err != nil || ep != c {
			t.Fatalf("third try after %s and %s: got %v, %v; want %s", a.Addr(), b.Addr(), ep, err, c.Addr())
		}
	}
	all := triedOn(a, b, c)
	if ep, err := PickOther(set, 0, &all); err != nil || ep != a {
		t.Errorf("every endpoint tried: got %v, %v; want the balancer's choice, %s", ep, err, a.Addr())
	}
}
