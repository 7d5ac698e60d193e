package appfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pylon-mesh/pylon/config"
)

const shop = `services:
  - name: catalog
    command: ["go", "run", "./examples/shop/catalog"]
    replicas: 2
    protocol: grpc
    health: { grpc: {} }
    env: { LOG_LEVEL: info, WORKERS: 4 }
    dir: sub
    upstreams: [inventory]
    stop_timeout: 5s
  - name: orders
    command: ["./orders"]
    replicas: 0
    protocol: http1
    health: { http: { path: /healthz }, interval: 2s, replace_after: 1m }
    upstreams: [catalog, inventory]
  - name: inventory
    command: [redis-server]
    protocol: tcp
gateway:
  listeners:
    - name: web
      address: 127.0.0.1:8080
  routes:
    - name: shop
      match: { path: { prefix: /orders } }
      service: orders
    - name: ext
      service: payments
  services:
    - name: payments
      endpoints: [127.0.0.1:9000]
authorization_policies:
  - name: only-orders
    service: inventory
    action: allow
    from: [{ services: [orders] }]
`

func TestParseValid(t *testing.T) {
	a, err := Parse("/app/shop/app.yaml", []byte(shop))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []Service{
		{
			Name: "catalog", Command: []string{"go", "run", "./examples/shop/catalog"}, Replicas: 2, Protocol: "grpc",
			Health: Health{Kind: HealthGRPC, Interval: time.Second, ReplaceAfter: 30 * time.Second},
			Env:    map[string]string{"LOG_LEVEL": "info", "WORKERS": "4"}, Dir: "/app/shop/sub",
			Upstreams: []string{"inventory"}, StopTimeout: 5 * time.Second,
		},
		{
			Name: "orders", Command: []string{"./orders"}, Replicas: 0, Protocol: "http1",
			Health: Health{Kind: HealthHTTP, Path: "/healthz", Interval: 2 * time.Second, ReplaceAfter: time.Minute},
			Dir:    "/app/shop", Upstreams: []string{"catalog", "inventory"}, StopTimeout: 10 * time.Second,
		},
		{
			Name: "inventory", Command: []string{"redis-server"}, Replicas: 1, Protocol: "tcp",
			Health: Health{Kind: HealthTCP, Interval: time.Second, ReplaceAfter: 30 * time.Second},
			Dir:    "/app/shop", StopTimeout: 10 * time.Second,
		},
	}
	if diff := cmp.Diff(want, a.Services); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if got, want := a.Dir, "/app/shop"; got != want {
		t.Errorf("Dir: got %q, want %q", got, want)
	}
	g := a.Gateway
	got := []any{len(g.Listeners), len(g.Routes), g.Routes[0].Timeout.Duration(), len(g.Services), g.Services[0].Protocol,
		a.Policies[0].Namespace}
	if diff := cmp.Diff([]any{1, 2, 15 * time.Second, 1, "http1", config.DefaultNamespace}, got); diff != "" {
		t.Errorf("gateway and policies, defaulted (-want +got):\n%s", diff)
	}
	if err := a.Validate(); err != nil {
		t.Errorf("Validate of a parsed app: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	a, err := Parse("app.yaml", []byte("services:\n  - name: a\n    command: [a]\n  - name: b\n    command: [b]\n    protocol: grpc\n"))
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	health := Health{Kind: HealthTCP, Interval: time.Second, ReplaceAfter: 30 * time.Second}
	want := &App{Dir: wd, Services: []Service{
		{Name: "a", Command: []string{"a"}, Replicas: 1, Protocol: ProtocolAuto, Health: health, Dir: wd, StopTimeout: 10 * time.Second},
		{Name: "b", Command: []string{"b"}, Replicas: 1, Protocol: "grpc", Dir: wd, StopTimeout: 10 * time.Second,
			Health: Health{Kind: HealthGRPC, Interval: time.Second, ReplaceAfter: 30 * time.Second}},
	}}
	if diff := cmp.Diff(want, a, cmpopts.IgnoreUnexported(App{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestConfig(t *testing.T) {
	a, err := Parse("/app/app.yaml", []byte(shop))
	if err != nil {
		t.Fatal(err)
	}
	c := a.Config()
	var got [][2]string
	for _, s := range c.Services {
		got = append(got, [2]string{s.Name, s.Protocol})
	}
	want := [][2]string{{"catalog", "grpc"}, {"orders", "http1"}, {"inventory", "http1"}, {"payments", "http1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("services of Config (-want +got):\n%s", diff)
	}
	if err := c.ValidateMode(config.Stored); err != nil {
		t.Errorf("Config is not valid in Stored mode: %v", err)
	}
	if got, want := c.Services[0].Endpoints, []config.Endpoint(nil); !cmp.Equal(got, want) {
		t.Errorf("endpoints of an app service: got %v, want %v", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(path, []byte("services:\n  - name: a\n    command: [a]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Services[0].Dir, dir; got != want {
		t.Errorf("Dir: got %q, want %q", got, want)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: got %v, want os.ErrNotExist", err)
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"catalog": "CATALOG_ADDR", "catalog-v2": "CATALOG_V2_ADDR", "a.b_c": "A_B_C_ADDR"} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateBuiltInGo(t *testing.T) {
	a := &App{Dir: "/x", Services: []Service{{Name: "a", Command: []string{"a"}, Protocol: "udp", Dir: "/x",
		Health: Health{Kind: HealthTCP, Interval: time.Second, ReplaceAfter: time.Second}, StopTimeout: time.Second}}}
	want := `services[0].protocol: "udp" is not valid; use one of: http1, h2c, grpc, tcp, auto`
	if err := a.Validate(); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("/app/app.yaml", []byte(shop)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPaths(t *testing.T) {
	in := `services:
  - name: a
    command: [a]
    dir: /srv/a
  - name: b
    command: [b]
    dir: ../b
gateway:
  listeners:
    - name: web
      address: 127.0.0.1:8443
      tls: { certificates: [{ cert: tls/cert.pem, key: /etc/key.pem }] }
  routes: [{ name: r, service: a }]
`
	a, err := Parse("/app/shop/app.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	cert := a.Gateway.Listeners[0].TLS.Certificates[0]
	got := []string{a.Services[0].Dir, a.Services[1].Dir, cert.Cert, cert.Key}
	want := []string{"/srv/a", "/app/b", "/app/shop/tls/cert.pem", "/etc/key.pem"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

// TestServiceCalls checks that an app service's calls block reaches the
// control plane's service with its defaults, zeros written kept.
func TestServiceCalls(t *testing.T) {
	a, err := Parse("/app/app.yaml", []byte("services:\n  - name: a\n    command: [a]\n    calls: { timeout: 2s, retries: { attempts: 0 } }\n  - name: b\n    command: [b]\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := a.Config()
	want := &config.MeshCalls{Timeout: config.Duration(2 * time.Second),
		Retries:        config.Retries{On: config.DefaultRetryOn, Backoff: config.Backoff{Base: config.Duration(25 * time.Millisecond), Max: config.Duration(250 * time.Millisecond)}},
		TCPIdleTimeout: config.DefaultTCPIdleTimeout}
	if diff := cmp.Diff(want, c.Services[0].Calls); diff != "" {
		t.Errorf("services[0].calls (-want +got):\n%s", diff)
	}
	if c.Services[1].Calls != nil {
		t.Errorf("services[1].calls: got %+v, want none (the mesh defaults)", c.Services[1].Calls)
	}
	if err := c.ValidateMode(config.Stored); err != nil {
		t.Errorf("Config is not valid in Stored mode: %v", err)
	}
}
