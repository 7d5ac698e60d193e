package control

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/registry"
)

func TestSidecarOf(t *testing.T) {
	cfg, err := config.ParseMode("f.yaml", []byte(`services:
  - name: orders
    mtls: permissive
  - name: catalog
    balancer: peak_ewma
    protocol: grpc
  - name: payments
    endpoints: [10.0.0.9:443]
`), config.Stored)
	if err != nil {
		t.Fatal(err)
	}
	v := &view{cfg: cfg, td: "pylon.local", instances: []registry.Instance{
		{ID: "c1", Service: "catalog", Namespace: "default", Address: "127.0.0.1:7001", Health: registry.Healthy, Protocol: "grpc", Mesh: true},
		{ID: "c2", Service: "catalog", Namespace: "default", Address: "127.0.0.1:7002", Health: registry.Unhealthy},
		{ID: "r1", Service: "redis", Namespace: "cache", Address: "127.0.0.1:7003", Health: registry.Healthy, Protocol: "tcp", Mesh: true},
		{ID: "r2", Service: "redis", Namespace: "cache", Address: "127.0.0.1:7004", Health: registry.Healthy, Protocol: "auto", Mesh: true},
		{ID: "s1", Service: "search", Namespace: "default", Address: "127.0.0.1:7005", Health: registry.Healthy, Protocol: "auto", Mesh: true},
	}}
	got := sidecarOf(v, "default", "orders", []string{"catalog", "payments", "redis", "search", "ghost"})
	if got.MTLS != config.MTLSPermissive || got.Service != "orders" || got.Namespace != "default" {
		t.Errorf("own settings: got %+v", got)
	}
	type up struct {
		Name, Protocol, Balancer string
		Endpoints                []string
		Peers                    map[string]string
	}
	var ups []up
	for _, u := range got.Upstreams {
		var eps []string
		for _, e := range u.Service.Endpoints {
			eps = append(eps, e.Address)
		}
		ups = append(ups, up{u.Service.Name, u.Protocol, u.Service.Balancer, eps, u.Peers})
	}
	want := []up{
		{"catalog", "grpc", "peak_ewma", []string{"127.0.0.1:7001"}, map[string]string{"127.0.0.1:7001": "spiffe://pylon.local/ns/default/svc/catalog"}},
		{"payments", "http1", "round_robin", []string{"10.0.0.9:443"}, map[string]string{}},
		// One instance declared tcp: that wins over another's auto.
		{"redis", "tcp", "peak_ewma", []string{"127.0.0.1:7003", "127.0.0.1:7004"},
			map[string]string{"127.0.0.1:7003": "spiffe://pylon.local/ns/cache/svc/redis", "127.0.0.1:7004": "spiffe://pylon.local/ns/cache/svc/redis"}},
		{"search", "auto", "peak_ewma", []string{"127.0.0.1:7005"}, map[string]string{"127.0.0.1:7005": "spiffe://pylon.local/ns/default/svc/search"}},
		{"ghost", "auto", "peak_ewma", nil, map[string]string{}}, // nothing known yet: callers detect
	}
	if d := cmp.Diff(want, ups); d != "" {
		t.Errorf("upstreams (-want +got):\n%s", d)
	}
}
