package test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/pylon-mesh/pylon/internal/redistest"
	"github.com/pylon-mesh/pylon/tracing/tracecontext"
)

// otlpReceiver is a real OTLP/HTTP trace receiver: protobuf
// ExportTraceServiceRequests POSTed to /v1/traces.
type otlpReceiver struct {
	t     *testing.T
	mu    sync.Mutex
	spans []exported
	srv   *httptest.Server
}

// exported is what the test checks of one span.
type exported struct {
	Service, Name, Kind  string
	Trace, Span, Parent  string
	Method, Path, Status string
	Listener             string
	// BytesIn and BytesOut are a TCP stream's byte counts.
	BytesIn, BytesOut string
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *otlpReceiver) serve(w http.ResponseWriter, req *http.Request) {
	b, err := io.ReadAll(req.Body)
	var msg coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &msg)
	}
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		r.t.Errorf("the OTLP receiver got %s %s (%s): %v", req.Method, req.URL.Path, req.Header.Get("Content-Type"), err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var got []exported
	for _, rs := range msg.ResourceSpans {
		service := ""
		for _, kv := range rs.Resource.GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				e := exported{Service: service, Name: s.Name, Kind: s.Kind.String(), Trace: hex.EncodeToString(s.TraceId),
					Span: hex.EncodeToString(s.SpanId), Parent: hex.EncodeToString(s.ParentSpanId)}
				for _, kv := range s.Attributes {
					switch kv.Key {
					case "http.request.method":
						e.Method = kv.Value.GetStringValue()
					case "url.path":
						e.Path = kv.Value.GetStringValue()
					case "http.response.status_code":
						e.Status = strconv.FormatInt(kv.Value.GetIntValue(), 10)
					case "pylon.listener":
						e.Listener = kv.Value.GetStringValue()
					case "pylon.bytes_in":
						e.BytesIn = strconv.FormatInt(kv.Value.GetIntValue(), 10)
					case "pylon.bytes_out":
						e.BytesOut = strconv.FormatInt(kv.Value.GetIntValue(), 10)
					}
				}
				got = append(got, e)
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// named returns the spans received with the given name.
func (r *otlpReceiver) named(name string) []exported {
	return r.matching(func(s exported) bool { return s.Name == name })
}

// matching returns the spans received that match.
func (r *otlpReceiver) matching(match func(exported) bool) []exported {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []exported
	for _, s := range r.spans {
		if match(s) {
			out = append(out, s)
		}
	}
	return out
}

// trace returns the spans received of one trace.
func (r *otlpReceiver) trace(id string) []exported {
	return r.matching(func(s exported) bool { return s.Trace == id })
}

// appTraceparent calls url and returns the traceparent the echo app behind
// the mesh saw.
func appTraceparent(t *testing.T, url, traceparent string) tracecontext.Context {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var reply struct {
		Headers map[string][]string `json:"headers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d, %v; want 200 and the echo's JSON", url, resp.StatusCode, err)
	}
	tp := reply.Headers["Traceparent"]
	if len(tp) != 1 {
		t.Fatalf("the app got traceparent %q, want one value", tp)
	}
	c, ok := tracecontext.Parse(tp[0])
	if !ok {
		t.Fatalf("the app got traceparent %q, want a valid one", tp[0])
	}
	return c
}

// TestMeshTracing: a request through two sidecars exporting over OTLP
// yields one trace with a CLIENT span from the caller's sidecar and a
// SERVER span from the callee's, its child; the app behind the callee gets
// a traceparent of that trace whose parent is the callee sidecar's span. A
// request that came with a traceparent continues the caller's trace.
func TestMeshTracing(t *testing.T) {
	// The SDK's batch span processor exports every 100 ms rather than 5 s.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	otlp := startOTLPReceiver(t)
	traced := []string{"--otlp-endpoint", otlp.srv.URL, "--trace-sample", "1"}
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), append([]string{"--health-http", "/"}, traced...))
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), traced, "catalog")
	waitFor(t, 10*time.Second, "orders to reach catalog through the mesh", func() bool {
		return servedBy(orders.url("catalog")+"/items/1", "catalog-1")
	})

	tests := []struct {
		name string
		// in is the traceparent the app sends its sidecar ("": none).
		in string
	}{
		{"the caller's sidecar begins the trace", ""},
		{"the caller's trace is continued", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := appTraceparent(t, orders.url("catalog")+"/traced", tt.in)
			trace := app.TraceID.String()
			var spans []exported
			waitFor(t, 10*time.Second, "both sidecars' spans at the OTLP receiver", func() bool {
				spans = otlp.trace(trace)
				return len(spans) >= 2
			})
			// A third span, which there must not be, would come in one of
			// the next batches, 100 ms apart.
			time.Sleep(300 * time.Millisecond)
			spans = otlp.trace(trace)
			if len(spans) != 2 {
				t.Fatalf("got %d spans in trace %s, want 2: %+v", len(spans), trace, spans)
			}
			client, server := spans[0], spans[1]
			if client.Kind != "SPAN_KIND_CLIENT" {
				client, server = server, client
			}
			callerParent := ""
			if tt.in != "" {
				in, _ := tracecontext.Parse(tt.in)
				callerParent = in.SpanID.String()
				if trace != in.TraceID.String() {
					t.Errorf("the app got trace %s, want the caller's %s", trace, in.TraceID)
				}
			}
			want := []exported{
				{Service: "orders", Name: "GET catalog", Kind: "SPAN_KIND_CLIENT", Trace: trace, Span: client.Span, Parent: callerParent,
					Method: "GET", Path: "/traced", Status: "200", Listener: "out-catalog"},
				{Service: "catalog", Name: "GET inbound", Kind: "SPAN_KIND_SERVER", Trace: trace, Span: app.SpanID.String(), Parent: client.Span,
					Method: "GET", Path: "/traced", Status: "200", Listener: "inbound"},
			}
			if diff := cmp.Diff(want, []exported{client, server}); diff != "" {
				t.Errorf("spans of the trace (-want +got):\n%s", diff)
			}
			if client.Span == "" || client.Span == callerParent || strings.Trim(client.Span, "0") == "" {
				t.Errorf("got caller span %q, want a new one", client.Span)
			}
		})
	}
}

// startTracedGateway is startGateway with more flags.
func startTracedGateway(t *testing.T, tmpl string, data map[string]string, extra ...string) *gateway {
	t.Helper()
	g := &gateway{t: t, dir: t.TempDir(), ports: map[string]string{}, admin: freeAddr(t),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	g.cfgPath = filepath.Join(g.dir, "pylon.yaml")
	g.writeConfig(tmpl, data)
	args := append([]string{"gateway", "-c", g.cfgPath, "--drain-timeout", drainTimeout.String(), "--log-level", "debug"}, extra...)
	g.cmd = exec.Command(pylonBin, args...)
	g.cmd.Stdout, g.cmd.Stderr = g.stdout, g.stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("starting pylon: %v", err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(g.cleanup)
	g.waitReady()
	return g
}

// TestGatewayTracing: a gateway begins a trace for a request without a
// traceparent, sends it to the upstream and exports its SERVER span as
// pylon-gateway; with --trace-sample 0 the trace it begins is not sampled,
// so the upstream is told so and nothing is exported.
func TestGatewayTracing(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	const cfg = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: api
    match: { path: { prefix: / } }
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`
	for _, sample := range []string{"1", "0"} {
		t.Run("sample "+sample, func(t *testing.T) {
			otlp := startOTLPReceiver(t)
			g := startTracedGateway(t, cfg, map[string]string{"Echo": startEcho(t, "e1")},
				"--otlp-endpoint", otlp.srv.URL, "--trace-sample", sample)
			app := appTraceparent(t, g.url("web")+"/traced", "")
			if got, want := app.Sampled(), sample == "1"; got != want {
				t.Fatalf("the app got sampled %v, want %v", got, want)
			}
			trace := app.TraceID.String()
			if sample == "0" {
				// The gateway flushes its spans as it stops: none of this trace.
				if err := g.stop(); err != nil {
					t.Fatal(err)
				}
				if spans := otlp.trace(trace); len(spans) != 0 {
					t.Errorf("got %+v exported from an unsampled trace, want nothing", spans)
				}
				return
			}
			var spans []exported
			waitFor(t, 10*time.Second, "the gateway's span at the OTLP receiver", func() bool {
				spans = otlp.trace(trace)
				return len(spans) > 0
			})
			want := []exported{{Service: "pylon-gateway", Name: "GET api", Kind: "SPAN_KIND_SERVER", Trace: trace,
				Span: app.SpanID.String(), Method: "GET", Path: "/traced", Status: "200", Listener: "web"}}
			if diff := cmp.Diff(want, spans); diff != "" {
				t.Errorf("spans of the trace (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMeshTCPTracing: a TCP stream through the mesh (a Redis PING) gets a
// CLIENT span from the caller's sidecar and a SERVER span, its child, from
// the callee's, with the bytes each way.
func TestMeshTCPTracing(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	otlp := startOTLPReceiver(t)
	traced := []string{"--otlp-endpoint", otlp.srv.URL, "--trace-sample", "1"}
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("redis"), "redis", redistest.Start(t), append([]string{"--protocol", "tcp"}, traced...))
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), traced, "redis")
	waitFor(t, 10*time.Second, "redis to answer through the mesh", func() bool {
		c, err := net.DialTimeout("tcp", orders.outbound["redis"], time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "PING\r\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		return err == nil && line == "+PONG\r\n"
	})
	// Every stream so far (the successful PING, and any tried before the
	// instance was ready) ends in a pair of spans; find the PING's.
	var client, server exported
	waitFor(t, 10*time.Second, "both sidecars' spans of the PING at the OTLP receiver", func() bool {
		for _, c := range otlp.named("CONNECT redis") {
			if c.Kind != "SPAN_KIND_CLIENT" || c.BytesOut != "7" {
				continue
			}
			for _, s := range otlp.trace(c.Trace) {
				if s.Kind == "SPAN_KIND_SERVER" {
					client, server = c, s
					return true
				}
			}
		}
		return false
	})
	want := []exported{
		{Service: "orders", Name: "CONNECT redis", Kind: "SPAN_KIND_CLIENT", Trace: client.Trace, Span: client.Span,
			Listener: "out-redis", BytesIn: "6", BytesOut: "7"},
		{Service: "redis", Name: "CONNECT redis", Kind: "SPAN_KIND_SERVER", Trace: client.Trace, Span: server.Span, Parent: client.Span,
			Listener: "inbound", BytesIn: "6", BytesOut: "7"},
	}
	if diff := cmp.Diff(want, []exported{client, server}); diff != "" {
		t.Errorf("spans of the TCP stream (-want +got):\n%s", diff)
	}
	if server.Span == client.Span || strings.Trim(client.Trace, "0") == "" {
		t.Errorf("got client span %s and server span %s in trace %s; want two distinct spans of a real trace", client.Span, server.Span, client.Trace)
	}
}
