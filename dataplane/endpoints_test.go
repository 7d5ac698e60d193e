package dataplane

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/config"
)

// fakeDNS answers lookups from a table. A fake because no DNS server runs
// here; the real resolver is what refreshDNS uses in production.
type fakeDNS map[string][]string

func (f fakeDNS) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, ip := range ips {
		out = append(out, netip.MustParseAddr(ip))
	}
	return out, nil
}

func TestResolveExpandsNamesAndKeepsLastGood(t *testing.T) {
	st := &serviceState{cfg: config.Service{Name: "orders"}, targets: parseTargets([]config.Endpoint{
		{Address: "10.0.0.1:80", Weight: 1},
		{Address: "orders.internal:8080", Weight: 2},
	})}
	dns := fakeDNS{"orders.internal": {"10.0.0.3", "10.0.0.2", "10.0.0.2"}}
	got := st.resolve(context.Background(), dns.lookup, nil)
	want := []weightedAddr{{"10.0.0.1:80", 1}, {"10.0.0.2:8080", 2}, {"10.0.0.3:8080", 2}}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(weightedAddr{})); d != "" {
		t.Errorf("first resolution (-want +got):\n%s", d)
	}
	// The name stops resolving: its last addresses stay.
	delete(dns, "orders.internal")
	got = st.resolve(context.Background(), dns.lookup, nil)
	if d := cmp.Diff(want, got, cmp.AllowUnexported(weightedAddr{})); d != "" {
		t.Errorf("after a failed lookup (-want +got):\n%s", d)
	}
	// It moves: the new addresses replace the old.
	dns["orders.internal"] = []string{"10.0.0.9"}
	got = st.resolve(context.Background(), dns.lookup, nil)
	want = []weightedAddr{{"10.0.0.1:80", 1}, {"10.0.0.9:8080", 2}}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(weightedAddr{})); d != "" {
		t.Errorf("after the name moved (-want +got):\n%s", d)
	}
}

func TestResolveNeverResolvedKeepsName(t *testing.T) {
	st := &serviceState{cfg: config.Service{Name: "x"}, targets: parseTargets([]config.Endpoint{{Address: "nowhere.invalid:80", Weight: 1}})}
	got := st.resolve(context.Background(), fakeDNS{}.lookup, nil)
	want := []weightedAddr{{"nowhere.invalid:80", 1}}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(weightedAddr{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestEndpointsForReusesKnownEndpoints(t *testing.T) {
	st := &serviceState{}
	now := time.Now()
	first := st.endpointsFor([]weightedAddr{{"10.0.0.1:80", 1}, {"10.0.0.2:80", 1}}, nil, false, now)
	m := map[string]*balancer.Endpoint{}
	for _, ep := range first {
		m[ep.Addr()] = ep
	}
	second := st.endpointsFor([]weightedAddr{{"10.0.0.2:80", 1}, {"10.0.0.3:80", 1}}, m, true, now)
	if second[0] != first[1] {
		t.Errorf("endpoint 10.0.0.2:80 was rebuilt; want the same *Endpoint so its state carries over")
	}
	if !second[1].Warming(now.Add(time.Millisecond), time.Second) {
		t.Errorf("new endpoint of a running service is not warming up")
	}
}
