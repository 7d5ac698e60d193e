package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pylon-mesh/pylon/balancer"
	"google.golang.org/grpc"
	healthsrv "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// firstBuilder is a balancer.Builder that always picks the first endpoint.
type firstBuilder struct{}

func (firstBuilder) Name() string { return "first" }

func (firstBuilder) Build(eps []balancer.Weighted) balancer.Picker { return first{eps[0].Endpoint} }

type first struct{ e *balancer.Endpoint }

func (f first) Pick(uint64) (*balancer.Endpoint, error) { return f.e, nil }

func newSet(addrs ...string) *balancer.Set {
	eps := make([]*balancer.Endpoint, len(addrs))
	for i, a := range addrs {
		eps[i] = balancer.NewEndpoint(a, 1)
	}
	return balancer.NewSet(firstBuilder{}, eps, 0, 0)
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startChecker runs c until the test ends and checks that Run returns.
func startChecker(t *testing.T, c *Checker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after its context was cancelled")
		}
	})
}

func fastConfig(k Kind) Config {
	return Config{Kind: k, Interval: 10 * time.Millisecond, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2}
}

// flip drives a checker through healthy -> unhealthy -> healthy with
// setHealthy and checks the endpoint, the set and the onChange hook follow.
func flip(t *testing.T, cfg Config, addr string, setHealthy func(bool)) *Checker {
	t.Helper()
	set := newSet(addr)
	ep := set.Endpoints()[0]
	var changes atomic.Int32
	c := NewChecker(cfg, set, nil, func() { changes.Add(1) })
	startChecker(t, c)

	waitFor(t, "a passing check", func() bool {
		st := c.Status()
		return len(st) == 1 && !st[0].LastCheck.IsZero() && st[0].LastError == ""
	})
	if !ep.Healthy() || changes.Load() != 0 {
		t.Fatalf("after passing checks: healthy %v, changes %d; want true, 0", ep.Healthy(), changes.Load())
	}
	setHealthy(false)
	waitFor(t, "the endpoint to turn unhealthy", func() bool { return !ep.Healthy() })
	waitFor(t, "onChange", func() bool { return changes.Load() == 1 })
	if got := set.Available(); got != 0 {
		t.Errorf("available while unhealthy: got %d, want 0", got)
	}
	setHealthy(true)
	waitFor(t, "the endpoint to turn healthy", func() bool { return ep.Healthy() })
	waitFor(t, "onChange", func() bool { return changes.Load() == 2 })
	if got := set.Available(); got != 1 {
		t.Errorf("available when healthy again: got %d, want 1", got)
	}
	return c
}

func TestHTTP(t *testing.T) {
	tests := []struct {
		name      string
		protocol  string
		tls       bool
		h2c       bool
		wantProto string
	}{
		{name: "http1", protocol: "http1", wantProto: "HTTP/1.1"},
		{name: "default", protocol: "", wantProto: "HTTP/1.1"},
		{name: "h2c", protocol: "h2c", h2c: true, wantProto: "HTTP/2.0"},
		{name: "grpc cleartext", protocol: "grpc", h2c: true, wantProto: "HTTP/2.0"},
		{name: "h2 over tls", protocol: "h2", tls: true, wantProto: "HTTP/2.0"},
		{name: "http1 over tls", protocol: "http1", tls: true, wantProto: "HTTP/1.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var status atomic.Int32
			status.Store(http.StatusOK)
			type seen struct{ Proto, Host, Path, Agent string }
			var last atomic.Pointer[seen]
			ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				last.Store(&seen{r.Proto, r.Host, r.URL.Path, r.UserAgent()})
				w.WriteHeader(int(status.Load()))
			}))
			if tc.h2c {
				ts.Config.Protocols = new(http.Protocols)
				ts.Config.Protocols.SetHTTP1(true)
				ts.Config.Protocols.SetUnencryptedHTTP2(true)
			}
			cfg := fastConfig(HTTP)
			cfg.HTTPPath, cfg.ExpectedStatuses, cfg.Host, cfg.Protocol = "/healthz", []int{200, 204}, "orders.internal", tc.protocol
			if tc.tls {
				ts.EnableHTTP2 = true
				ts.StartTLS()
				cfg.TLS = ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
			} else {
				ts.Start()
			}
			defer ts.Close()

			flip(t, cfg, ts.Listener.Addr().String(), func(ok bool) {
				if ok {
					status.Store(http.StatusNoContent)
				} else {
					status.Store(http.StatusServiceUnavailable)
				}
			})
			want := seen{tc.wantProto, "orders.internal", "/healthz", "pylon-health-check"}
			if diff := cmp.Diff(want, *last.Load()); diff != "" {
				t.Errorf("request seen by the server (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPExpectedStatuses(t *testing.T) {
	tests := []struct {
		expected []int
		code     int
		want     bool
	}{
		{nil, 200, true}, {nil, 299, true}, {nil, 301, false}, {nil, 500, false},
		{[]int{200}, 204, false}, {[]int{200, 418}, 418, true},
	}
	for _, tc := range tests {
		p := newHTTPProber(Config{ExpectedStatuses: tc.expected}.withDefaults())
		if got := p.expected(tc.code); got != tc.want {
			t.Errorf("expected %v, status %d: got %v, want %v", tc.expected, tc.code, got, tc.want)
		}
	}
}

func startGRPC(t *testing.T) (*healthsrv.Server, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := healthsrv.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return hs, lis.Addr().String()
}

func TestGRPC(t *testing.T) {
	hs, addr := startGRPC(t)
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	cfg := fastConfig(GRPC)
	cfg.GRPCService = "orders"
	flip(t, cfg, addr, func(ok bool) {
		s := healthpb.HealthCheckResponse_NOT_SERVING
		if ok {
			s = healthpb.HealthCheckResponse_SERVING
		}
		hs.SetServingStatus("orders", s)
	})
}

func TestGRPCFailures(t *testing.T) {
	hs, addr := startGRPC(t)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	tests := []struct {
		name, service, wantErr string
	}{
		{"not serving", "down", `"down" is NOT_SERVING`},
		{"unknown service", "missing", "NotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fastConfig(GRPC)
			cfg.GRPCService = tc.service
			set := newSet(addr)
			c := NewChecker(cfg, set, nil, nil)
			startChecker(t, c)
			waitFor(t, "unhealthy", func() bool { return !set.Endpoints()[0].Healthy() })
			if got := c.Status()[0].LastError; !strings.Contains(got, tc.wantErr) {
				t.Errorf("last error %q, want it to contain %q", got, tc.wantErr)
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func TestTCP(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	open, closed := lis.Addr().String(), closedAddr(t)
	set := newSet(open, closed)
	c := NewChecker(fastConfig(TCP), set, nil, nil)
	startChecker(t, c)
	waitFor(t, "the closed port to turn unhealthy", func() bool { return !set.Endpoints()[1].Healthy() })
	waitFor(t, "two passes on the open port", func() bool {
		st := c.Status()
		return len(st) == 2 && st[0].ConsecutiveSuccesses+st[1].ConsecutiveSuccesses >= 2
	})
	got := c.Status()
	for i := range got {
		if got[i].Addr == closed && strings.Contains(got[i].LastError, "connection refused") {
			got[i].LastError = "connection refused"
		}
	}
	want := []EndpointStatus{
		{Addr: open, Healthy: true},
		{Addr: closed, Healthy: false, LastError: "connection refused"},
	}
	if want[1].Addr < want[0].Addr {
		want[0], want[1] = want[1], want[0]
	}
	ignore := cmpopts.IgnoreFields(EndpointStatus{}, "LastCheck", "ConsecutiveSuccesses", "ConsecutiveFailures")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

// TestEndpointsFollowSet checks endpoints added to and removed from the set
// are checked and dropped without restarting Run.
func TestEndpointsFollowSet(t *testing.T) {
	a, b := closedAddr(t), closedAddr(t)
	set := newSet(a)
	c := NewChecker(fastConfig(TCP), set, nil, nil)
	startChecker(t, c)
	addrs := func() []string {
		var out []string
		for _, s := range c.Status() {
			out = append(out, s.Addr)
		}
		return out
	}
	epB := balancer.NewEndpoint(b, 1)
	set.SetEndpoints([]*balancer.Endpoint{set.Endpoints()[0], epB}, time.Now())
	waitFor(t, "the new endpoint to be checked", func() bool { return !epB.Healthy() })
	set.SetEndpoints([]*balancer.Endpoint{epB}, time.Now())
	waitFor(t, "the removed endpoint to leave Status", func() bool { return len(c.Status()) == 1 })
	if diff := cmp.Diff([]string{b}, addrs()); diff != "" {
		t.Errorf("checked endpoints (-want +got):\n%s", diff)
	}
}

func TestUnknownKindFails(t *testing.T) {
	set := newSet("127.0.0.1:1")
	c := NewChecker(Config{Kind: Kind(7), Interval: 10 * time.Millisecond}, set, nil, nil)
	startChecker(t, c)
	waitFor(t, "unhealthy", func() bool { return !set.Endpoints()[0].Healthy() })
	if got, want := c.Status()[0].LastError, "health check kind 7: unknown kind"; got != want {
		t.Errorf("last error: got %q, want %q", got, want)
	}
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		in, want Config
	}{
		{Config{}, Config{Interval: DefaultInterval, Timeout: DefaultTimeout, HealthyThreshold: 1, UnhealthyThreshold: 1, HTTPPath: "/"}},
		{
			Config{Interval: time.Second, Timeout: time.Millisecond, HealthyThreshold: 3, UnhealthyThreshold: 4, HTTPPath: "healthz"},
			Config{Interval: time.Second, Timeout: time.Millisecond, HealthyThreshold: 3, UnhealthyThreshold: 4, HTTPPath: "/healthz"},
		},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.in.withDefaults()); diff != "" {
			t.Errorf("withDefaults(%+v) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestKindString(t *testing.T) {
	got := []string{HTTP.String(), GRPC.String(), TCP.String(), Kind(9).String()}
	if diff := cmp.Diff([]string{"http", "grpc", "tcp", "unknown"}, got); diff != "" {
		t.Errorf("kind names (-want +got):\n%s", diff)
	}
}

// TestRunReleasesEverything checks that once Run returns, nothing it started
// is left running: probe goroutines, the gRPC connection, the HTTP client's
// idle connections.
func TestRunReleasesEverything(t *testing.T) {
	hs, grpcAddr := startGRPC(t)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ts.Close()
	tests := []struct {
		kind Kind
		addr string
	}{{GRPC, grpcAddr}, {HTTP, ts.Listener.Addr().String()}}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			before := runtime.NumGoroutine()
			c := NewChecker(fastConfig(tc.kind), newSet(tc.addr), nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				c.Run(ctx)
				close(done)
			}()
			waitFor(t, "two passes", func() bool {
				st := c.Status()
				return len(st) == 1 && st[0].ConsecutiveSuccesses >= 2
			})
			cancel()
			<-done
			waitFor(t, "goroutines to wind down", func() bool { return runtime.NumGoroutine() <= before })
		})
	}
}
