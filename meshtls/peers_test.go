package meshtls

import (
	"errors"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func TestPeerSetReplace(t *testing.T) {
	var p PeerSet
	if _, ok := p.Lookup("a:1"); ok {
		t.Fatal("the zero set knows an address")
	}
	if err := p.Replace(map[string]string{"a:1": "spiffe://td/ns/default/svc/a"}, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	during := map[string]bool{}
	err := p.Replace(map[string]string{"b:1": "spiffe://td/ns/default/svc/b"}, func() error {
		_, during["a:1"] = p.Lookup("a:1")
		_, during["b:1"] = p.Lookup("b:1")
		return nil
	})
	if err != nil || !during["a:1"] || !during["b:1"] {
		t.Fatalf("during apply: %v, known %v; want both old and new", err, during)
	}
	if _, ok := p.Lookup("a:1"); ok {
		t.Error("an address the new set dropped is still known after apply")
	}
	if id, ok := p.Lookup("b:1"); !ok || id.String() != "spiffe://td/ns/default/svc/b" {
		t.Errorf("got %v, %v", id, ok)
	}
	refused := errors.New("refused")
	if err := p.Replace(map[string]string{"c:1": "spiffe://td/ns/default/svc/c"}, func() error { return refused }); err != refused {
		t.Fatalf("got %v, want the apply's error", err)
	}
	if _, ok := p.Lookup("c:1"); ok {
		t.Error("a failed apply left its addresses in the set")
	}
	if _, ok := p.Lookup("b:1"); !ok {
		t.Error("a failed apply dropped the old set")
	}
	if err := p.Replace(map[string]string{"d:1": "not a spiffe id"}, func() error { t.Fatal("applied"); return nil }); err == nil {
		t.Error("a bad SPIFFE ID was accepted")
	}
}

func TestWorkload(t *testing.T) {
	for id, want := range map[string][2]string{
		"spiffe://td/ns/shop/svc/orders":     {"shop", "orders"},
		"spiffe://td/control":                {},
		"spiffe://td/ns/shop/svc/orders/x":   {},
		"spiffe://td/ns/shop/workload/order": {},
	} {
		ns, svc, ok := Workload(spiffeid.RequireFromString(id))
		if got := [2]string{ns, svc}; got != want || ok != (want[0] != "") {
			t.Errorf("%s: got %v %v, want %v", id, got, ok, want)
		}
		if ok && WorkloadID("td", ns, svc) != id {
			t.Errorf("WorkloadID does not give back %s", id)
		}
	}
	id := spiffeid.RequireFromString("spiffe://td/ns/shop/svc/orders")
	if n := testing.AllocsPerRun(100, func() { Workload(id) }); n != 0 {
		t.Errorf("Workload allocates %v times", n)
	}
}
