package snapshot

import (
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/internal/testpki"
)

func TestRoundTrip(t *testing.T) {
	want, err := config.ParseMode("f.yaml", []byte(`listeners: [{name: web, address: "127.0.0.1:8080"}]
routes: [{name: r, match: {path: {prefix: /}}, service: s, timeout: 0s}]
services: [{name: s, endpoints: ["127.0.0.1:9001"], balancer: least_request}]
`), config.Managed)
	if err != nil {
		t.Fatal(err)
	}
	root := testpki.NewCA(t).Cert
	payload, err := Encode(want, nil, []*x509.Certificate{root})
	if err != nil {
		t.Fatal(err)
	}
	got, _, roots, err := Decode("v1", payload)
	if err != nil {
		t.Fatal(err)
	}
	// Every value survives, defaults and explicit zeros alike.
	if d := cmp.Diff(want.Routes, got.Routes); d != "" {
		t.Errorf("routes (-sent +received):\n%s", d)
	}
	if d := cmp.Diff(want.Services, got.Services); d != "" {
		t.Errorf("services (-sent +received):\n%s", d)
	}
	if len(roots) != 1 || !roots[0].Equal(root) {
		t.Errorf("got %d roots, want the one sent", len(roots))
	}
}

func TestBundleSurvivesABadConfig(t *testing.T) {
	root := testpki.NewCA(t).Cert
	payload, err := Encode(&config.Config{}, nil, []*x509.Certificate{root})
	if err != nil {
		t.Fatal(err)
	}
	var g Gateway
	json.Unmarshal(payload, &g)
	g.Config = json.RawMessage(`{"routes": [{"name": "r", "service": "missing"}]}`)
	payload, _ = json.Marshal(g)
	_, _, roots, err := Decode("v2", payload)
	if err == nil || !strings.Contains(err.Error(), "routes[0]") {
		t.Errorf("got %v, want the route's error", err)
	}
	if len(roots) != 1 {
		t.Errorf("a refused config lost the trust bundle")
	}
	if _, _, _, err := Decode("v3", []byte(`{"config": {}, "roots": []}`)); err == nil {
		t.Error("a snapshot without a trust bundle was accepted")
	}
}
