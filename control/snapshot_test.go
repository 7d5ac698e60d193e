package control

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/internal/testpki"
	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/snapshot"
	"github.com/pylon-mesh/pylon/store"
	"github.com/pylon-mesh/pylon/store/bolt"
)

const (
	meshDoc = `listeners: [{name: web, address: "127.0.0.1:8080"}]
services: [{name: orders, endpoints: ["127.0.0.1:9001"]}]
routes: [{name: orders, match: {path: {prefix: /orders}}, service: orders}]
`
	partnerKey  = "pk-0f1e2d3c4b5a69788"
	policiesDoc = `consumers: [{name: partner, api_keys: ["` + partnerKey + `"]}]
policies:
  - {name: keyed, authentication: {api_key: {}}, allow_consumers: [partner], rate_limit: {requests: 2, per: 1m, by: consumer}}
routes: [{name: orders, match: {path: {prefix: /orders}}, service: orders, policies: [keyed]}]
`
)

// applyDoc writes every resource of doc to st.
func applyDoc(t *testing.T, st store.Store, doc string) {
	t.Helper()
	changes, _, err := resource.DecodeDocument("doc.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resource.Write(context.Background(), st, changes, false); err != nil {
		t.Fatal(err)
	}
}

// TestGatewaySnapshotHoldsPolicies: a gateway's snapshot carries the stored
// policies and consumers (keys hashed), so a managed gateway enforces
// them; a sidecar's snapshot is the same bytes with or without them.
func TestGatewaySnapshotHoldsPolicies(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pylon.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca := testpki.NewCA(t)
	s := &snapshotter{
		st:    st,
		roots: func() []*x509.Certificate { return []*x509.Certificate{ca.Cert} },
		td:    func() spiffeid.TrustDomain { return spiffeid.RequireTrustDomainFromString("pylon.local") },
	}
	caller := spiffeid.RequireFromString("spiffe://pylon.local/ns/default/svc/storefront")
	build := func() (*config.Config, string) {
		t.Helper()
		v, err := s.rebuild(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(v.gateway.Payload), partnerKey) {
			t.Errorf("the gateway snapshot holds the plain API key")
		}
		cfg, _, _, err := snapshot.Decode("gateway", v.gateway.Payload)
		if err != nil {
			t.Fatalf("decode the gateway snapshot: %v", err)
		}
		side, err := s.sidecar(ctx, caller, []string{"orders"})
		if err != nil {
			t.Fatal(err)
		}
		return cfg, string(side.Payload)
	}

	applyDoc(t, st, meshDoc)
	before, sidecarBefore := build()
	if len(before.Policies)+len(before.Consumers) != 0 {
		t.Fatalf("got policies %v and consumers %v before any were stored", before.Policies, before.Consumers)
	}

	applyDoc(t, st, policiesDoc)
	cfg, sidecarAfter := build()
	want, err := config.ParseParts("doc.yaml", []byte(policiesDoc))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want.Policies, cfg.Policies); d != "" {
		t.Errorf("gateway policies (-stored +snapshot):\n%s", d)
	}
	if d := cmp.Diff([]config.Consumer{{Name: "partner", APIKeys: []string{config.HashAPIKey(partnerKey)}}}, cfg.Consumers); d != "" {
		t.Errorf("gateway consumers (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"keyed"}, cfg.Routes[0].Policies); d != "" {
		t.Errorf("gateway route policies (-want +got):\n%s", d)
	}
	if sidecarAfter != sidecarBefore {
		t.Errorf("a sidecar's snapshot changed with gateway policies stored:\nbefore: %s\nafter:  %s", sidecarBefore, sidecarAfter)
	}
}
