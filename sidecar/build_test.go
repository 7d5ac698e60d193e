package sidecar

import (
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/snapshot"
)

func TestBuildConfig(t *testing.T) {
	o := &Options{Service: "orders", App: "127.0.0.1:9001", Protocol: "grpc", Inbound: "127.0.0.1:15006", ProxyAddr: "127.0.0.1:15001",
		Upstreams: []Upstream{{Name: "catalog", Listen: "127.0.0.1:7001"}, {Name: "redis", Listen: "127.0.0.1:7002"}, {Name: "payments", Listen: "127.0.0.1:7003"}}}
	svc := func(name string, eps ...string) config.Service {
		c := &config.Config{Services: []config.Service{{Name: name}}}
		for _, e := range eps {
			c.Services[0].Endpoints = append(c.Services[0].Endpoints, config.Endpoint{Address: e})
		}
		c.SetDefaults()
		return c.Services[0]
	}
	s := &snapshot.Sidecar{Service: "orders", Namespace: "default", MTLS: config.MTLSPermissive, Upstreams: []snapshot.Upstream{
		{Service: svc("catalog", "10.0.0.1:15006", "10.0.0.9:80"), Protocol: "http1",
			Peers: map[string]string{"10.0.0.1:15006": "spiffe://pylon.local/ns/default/svc/catalog"}},
		{Service: svc("redis", "10.0.0.2:15006"), Protocol: snapshot.ProtocolTCP, Peers: map[string]string{"10.0.0.2:15006": "spiffe://pylon.local/ns/default/svc/redis"}},
		{Service: svc("payments", "10.0.0.3:443"), Protocol: "http1", Peers: map[string]string{}},
	}}
	local := config.Config{Admin: config.Admin{Address: "off"}, AccessLog: config.AccessLog{Path: "off", Sample: 1}}
	cfg, peers, err := buildConfig(o, s, local, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	type listener struct {
		Name, Address    string
		Mesh, Permissive bool
	}
	var ls []listener
	for _, l := range cfg.Listeners {
		ls = append(ls, listener{l.Name, l.Address, l.Mesh, l.MeshPermissive})
	}
	wantL := []listener{
		{"inbound", "127.0.0.1:15006", true, true},
		{"proxy", "127.0.0.1:15001", false, false},
		{"out-catalog", "127.0.0.1:7001", false, false},
		{"out-redis", "127.0.0.1:7002", false, false}, // its connections are tunnelled beside the data plane
		{"out-payments", "127.0.0.1:7003", false, false},
	}
	if d := cmp.Diff(wantL, ls); d != "" {
		t.Errorf("listeners (-want +got):\n%s", d)
	}
	type service struct {
		Name, Protocol string
		Mesh           bool
		Endpoints      []string
	}
	var ss []service
	for _, sv := range cfg.Services {
		var eps []string
		for _, e := range sv.Endpoints {
			eps = append(eps, e.Address)
		}
		ss = append(ss, service{sv.Name, sv.Protocol, sv.Mesh, eps})
	}
	wantS := []service{
		{"app", "grpc", false, []string{"127.0.0.1:9001"}},
		{"catalog", "http1", true, []string{"10.0.0.1:15006"}}, // the endpoint without a sidecar is left out
		{"redis", "http1", true, []string{"10.0.0.2:15006"}},
		{"payments", "http1", false, []string{"10.0.0.3:443"}}, // no sidecars at all: reached in plain
	}
	if d := cmp.Diff(wantS, ss); d != "" {
		t.Errorf("services (-want +got):\n%s", d)
	}
	wantPeers := map[string]string{"10.0.0.1:15006": "spiffe://pylon.local/ns/default/svc/catalog", "10.0.0.2:15006": "spiffe://pylon.local/ns/default/svc/redis"}
	if d := cmp.Diff(wantPeers, peers); d != "" {
		t.Errorf("peers (-want +got):\n%s", d)
	}
	for _, r := range cfg.Routes {
		if r.Timeout != 0 {
			t.Errorf("route %s has timeout %v; mesh hops add none", r.Name, r.Timeout)
		}
	}
	if _, _, err := buildConfig(&Options{Upstreams: []Upstream{{Name: "ghost", Listen: "127.0.0.1:1"}}, Inbound: "127.0.0.1:2", App: "127.0.0.1:3", Protocol: "http1"}, &snapshot.Sidecar{}, local, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("an upstream the control plane sent nothing about was accepted")
	}
}

// TestInboundRoutes checks how the inbound listener reaches the app for
// each declared protocol, and that the callee's sidecar never retries.
func TestInboundRoutes(t *testing.T) {
	type route struct {
		Name, Service, Header string
		Retries               int
	}
	type service struct{ Name, Protocol string }
	cases := []struct {
		protocol string
		routes   []route
		services []service
	}{
		{"http1", []route{{"inbound", "app", "", 0}}, []service{{"app", "http1"}}},
		{"grpc", []route{{"inbound", "app", "", 0}}, []service{{"app", "grpc"}}},
		{"tcp", []route{{"inbound", "app", "", 0}}, []service{{"app", "http1"}}},
		{"auto", []route{{"inbound", "app", "", 0}, {"inbound-grpc", "app-grpc", "content-type", 0}},
			[]service{{"app", "http1"}, {"app-grpc", "grpc"}}},
	}
	local := config.Config{Admin: config.Admin{Address: "off"}, AccessLog: config.AccessLog{Path: "off", Sample: 1}}
	for _, c := range cases {
		o := &Options{Service: "orders", App: "127.0.0.1:9001", Protocol: c.protocol, Inbound: "127.0.0.1:15006"}
		cfg, _, err := buildConfig(o, &snapshot.Sidecar{Service: "orders", Namespace: "default"}, local, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: %v", c.protocol, err)
		}
		var rs []route
		for _, r := range cfg.Routes {
			h := ""
			if len(r.Match.Headers) > 0 {
				h = r.Match.Headers[0].Name
			}
			rs = append(rs, route{r.Name, r.Service, h, r.Retries.Attempts})
		}
		var ss []service
		for _, sv := range cfg.Services {
			ss = append(ss, service{sv.Name, sv.Protocol})
			if !sv.Health.Outlier.Disabled {
				t.Errorf("%s: the app service %s ejects its one endpoint on failures", c.protocol, sv.Name)
			}
		}
		if d := cmp.Diff(c.routes, rs); d != "" {
			t.Errorf("%s: routes (-want +got):\n%s", c.protocol, d)
		}
		if d := cmp.Diff(c.services, ss); d != "" {
			t.Errorf("%s: services (-want +got):\n%s", c.protocol, d)
		}
	}
}

// TestServiceCalls checks that a service's calls block sets the timeout and
// retries of the routes its callers' sidecars reach it by (the upstream's
// own listener and the HTTP-proxy listener), that the inbound route still
// never retries, and that the control plane's settings reach the data
// plane as written, zeros included, rather than defaulted again.
func TestServiceCalls(t *testing.T) {
	o := &Options{Service: "orders", App: "127.0.0.1:9001", Protocol: "http1", Inbound: "127.0.0.1:15006", ProxyAddr: "127.0.0.1:15001",
		Upstreams: []Upstream{{Name: "catalog", Listen: "127.0.0.1:7001"}, {Name: "stock", Listen: "127.0.0.1:7002"}}}
	parsed, err := config.Parse("cp.yaml", []byte(`listeners: [{name: web, address: 127.0.0.1:8080}]
routes: [{name: r, service: catalog}]
services:
  - name: catalog
    endpoints: [10.0.0.1:15006]
    retry_budget: { percent: 0 }
    calls: { timeout: 2s, retries: { attempts: 0 }, tcp_idle_timeout: 5m }
  - { name: stock, endpoints: [10.0.0.2:15006] }
`))
	if err != nil {
		t.Fatal(err)
	}
	catalog, stock := parsed.Services[0], parsed.Services[1]
	s := &snapshot.Sidecar{Service: "orders", Namespace: "default", Upstreams: []snapshot.Upstream{
		{Service: catalog, Protocol: "http1", Peers: map[string]string{"10.0.0.1:15006": "spiffe://pylon.local/ns/default/svc/catalog"}},
		{Service: stock, Protocol: "http1", Peers: map[string]string{"10.0.0.2:15006": "spiffe://pylon.local/ns/default/svc/stock"}},
	}}
	local := config.Config{Admin: config.Admin{Address: "off"}, AccessLog: config.AccessLog{Path: "off", Sample: 1}}
	cfg, _, err := buildConfig(o, s, local, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	type route struct {
		Timeout  config.Duration
		Attempts int
	}
	got := map[string]route{}
	for _, r := range cfg.Routes {
		got[r.Name] = route{r.Timeout, r.Retries.Attempts}
	}
	want := map[string]route{
		"inbound":             {0, 0},
		"out-catalog-catalog": {config.Duration(2 * time.Second), 0},
		"proxy-catalog":       {config.Duration(2 * time.Second), 0},
		"out-stock-stock":     {0, 2}, // no calls block: no timeout, a route's default retries
		"proxy-stock":         {0, 2},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("routes' timeout and retries (-want +got):\n%s", d)
	}
	for _, sv := range cfg.Services {
		if sv.Name == "catalog" && sv.RetryBudget.Percent != 0 {
			t.Errorf("catalog's retry_budget.percent: got %d, want the 0 written", sv.RetryBudget.Percent)
		}
	}
	if got, want := l4SettingsOf(&catalog), (l4Settings{tries: 1, dialTimeout: 5 * time.Second, idleTimeout: 5 * time.Minute}); got != want {
		t.Errorf("catalog's TCP settings: got %+v, want %+v", got, want)
	}
	if got, want := l4SettingsOf(&stock), (l4Settings{tries: 3, dialTimeout: 5 * time.Second, idleTimeout: time.Hour}); got != want {
		t.Errorf("stock's TCP settings: got %+v, want %+v", got, want)
	}
}
