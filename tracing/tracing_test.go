package tracing

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/proxy"
	"github.com/pylon-mesh/pylon/tracing/tracecontext"
)

// collector is an OTLP/HTTP receiver keeping the spans it is sent.
type collector struct {
	mu    sync.Mutex
	spans []span
	srv   *httptest.Server
}

// span is what a test checks of an exported span.
type span struct {
	Service, Name, Kind string
	Trace, ID, Parent   string
	Start, End          int64
	Attrs               map[string]string
	Error               bool
	StatusMsg           string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if r.URL.Path != "/v1/traces" || err != nil {
			t.Errorf("the collector got %s %s: %v", r.Method, r.URL.Path, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.spans = append(c.spans, flatten(&req)...)
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func flatten(req *coltracepb.ExportTraceServiceRequest) []span {
	var out []span
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.Resource.GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				out = append(out, convert(service, s))
			}
		}
	}
	return out
}

func convert(service string, s *tracepb.Span) span {
	sp := span{Service: service, Name: s.Name, Kind: s.Kind.String(),
		Trace: hex.EncodeToString(s.TraceId), ID: hex.EncodeToString(s.SpanId), Parent: hex.EncodeToString(s.ParentSpanId),
		Start: int64(s.StartTimeUnixNano), End: int64(s.EndTimeUnixNano), Attrs: map[string]string{},
		Error: s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR, StatusMsg: s.Status.GetMessage()}
	for _, kv := range s.Attributes {
		v := kv.Value.GetStringValue()
		if _, ok := kv.Value.Value.(*commonpb.AnyValue_IntValue); ok {
			v = strconv.FormatInt(kv.Value.GetIntValue(), 10)
		}
		sp.Attrs[kv.Key] = v
	}
	return sp
}

func (c *collector) take() []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spans
}

var (
	traceID = tracecontext.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID  = tracecontext.SpanID{1, 2, 3, 4, 5, 6, 7, 8}
	parent  = tracecontext.SpanID{9, 9, 9, 9, 9, 9, 9, 9}
	start   = time.Unix(1700000000, 0)
)

func TestExport(t *testing.T) {
	c := newCollector(t)
	tr, err := New(Options{Endpoint: c.srv.URL, SampleRatio: 0.25, Service: "orders", Version: "test",
		Client: func(l string) bool { return l != "inbound" }})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.SampleRatio(); got != 0.25 {
		t.Errorf("got sample ratio %v, want 0.25", got)
	}
	svc := &proxy.Service{Name: "catalog"}
	route := &proxy.Route{Name: "out-catalog-catalog"}
	records := []proxy.Record{
		{ // a server span continuing the caller's trace
			Start: start, Duration: 5 * time.Millisecond, Listener: "inbound", Route: &proxy.Route{Name: "inbound"},
			Service: &proxy.Service{Name: "app"}, Endpoint: "127.0.0.1:9001", Proto: "HTTP/2.0", Method: []byte("GET"),
			Host: []byte("orders:8080"), Path: []byte("/items/1"), Remote: netip.MustParseAddrPort("127.0.0.1:5555"),
			Status: 200, RequestID: []byte("rid-1"),
			Trace: tracecontext.Context{TraceID: traceID, SpanID: spanID, Flags: tracecontext.Sampled}, ParentSpan: parent,
		},
		{ // a client span beginning a trace, failed by pylon
			Start: start, Duration: time.Second, Listener: "out-catalog", Route: route, Service: svc, Proto: "HTTP/1.1",
			Method: []byte("POST"), Host: []byte("catalog"), Path: []byte("/buy"), Status: 503, Retries: 2, RequestID: []byte("rid-2"),
			Err:   flow.New(503, flow.CodeNoHealthyEndpoint, "no healthy endpoint for the service"),
			Trace: tracecontext.Context{TraceID: traceID, SpanID: parent, Flags: tracecontext.Sampled},
		},
		{ // not sampled: not exported
			Start: start, Listener: "inbound", Method: []byte("GET"), Status: 200,
			Trace: tracecontext.Context{TraceID: traceID, SpanID: tracecontext.SpanID{7}},
		},
		{ // tracing was off: not exported
			Start: start, Listener: "inbound", Method: []byte("GET"), Status: 404,
		},
	}
	for i := range records {
		tr.Observe(&records[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	want := []span{
		{Service: "orders", Name: "GET inbound", Kind: "SPAN_KIND_SERVER", Trace: traceID.String(), ID: spanID.String(), Parent: parent.String(),
			Start: start.UnixNano(), End: start.Add(5 * time.Millisecond).UnixNano(), Attrs: map[string]string{
				"http.request.method": "GET", "url.path": "/items/1", "network.protocol.version": "2", "pylon.listener": "inbound",
				"pylon.request_id": "rid-1", "server.address": "orders", "server.port": "8080", "http.response.status_code": "200",
				"client.address": "127.0.0.1", "pylon.route": "inbound", "pylon.service": "app", "pylon.endpoint": "127.0.0.1:9001",
			}},
		{Service: "orders", Name: "POST catalog", Kind: "SPAN_KIND_CLIENT", Trace: traceID.String(), ID: parent.String(), Parent: "",
			Start: start.UnixNano(), End: start.Add(time.Second).UnixNano(), Error: true, StatusMsg: "no healthy endpoint for the service",
			Attrs: map[string]string{
				"http.request.method": "POST", "url.path": "/buy", "network.protocol.version": "1.1", "pylon.listener": "out-catalog",
				"pylon.request_id": "rid-2", "server.address": "catalog", "http.response.status_code": "503",
				"pylon.route": "out-catalog-catalog", "pylon.service": "catalog", "pylon.retries": "2", "error.type": "no_healthy_endpoint",
			}},
	}
	if diff := cmp.Diff(want, c.take()); diff != "" {
		t.Errorf("exported spans (-want +got):\n%s", diff)
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"no scheme", Options{Endpoint: "127.0.0.1:4318"}},
		{"grpc scheme", Options{Endpoint: "grpc://127.0.0.1:4317"}},
		{"no host", Options{Endpoint: "http:///v1/traces"}},
		{"ratio above 1", Options{Endpoint: "http://127.0.0.1:4318", SampleRatio: 1.5}},
		{"negative ratio", Options{Endpoint: "http://127.0.0.1:4318", SampleRatio: -0.1}},
	}
	for _, tt := range tests {
		if _, err := New(tt.o); err == nil {
			t.Errorf("%s: got no error, want one", tt.name)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"},
		{"https://otel.example:443/custom/path", "https://otel.example:443/custom/path"},
	}
	for _, tt := range tests {
		got, err := endpointURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("endpointURL(%q) got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// BenchmarkObserve measures exporting one sampled request's span: what
// the request goroutine pays, the batch processor sending it later.
func BenchmarkObserve(b *testing.B) {
	tr, err := New(Options{Endpoint: "http://127.0.0.1:9/v1/traces", SampleRatio: 1, Service: "bench",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // nothing listens: drop what is queued
		tr.Shutdown(ctx)
	})
	rec := proxy.Record{Start: start, Duration: time.Millisecond, Listener: "web", Route: &proxy.Route{Name: "api"},
		Service: &proxy.Service{Name: "api"}, Endpoint: "127.0.0.1:9001", Proto: "HTTP/1.1", Method: []byte("GET"),
		Host: []byte("api.example:8080"), Path: []byte("/items/1"), Remote: netip.MustParseAddrPort("127.0.0.1:5555"),
		Status: 200, RequestID: []byte("rid"), Trace: tracecontext.Context{TraceID: traceID, SpanID: spanID, Flags: tracecontext.Sampled},
		ParentSpan: parent}
	b.ReportAllocs()
	for b.Loop() {
		tr.Observe(&rec)
	}
}

func TestErrorLogRateLimited(t *testing.T) {
	var buf syncBuf
	e := &errorLog{logger: slog.New(slog.NewTextHandler(&buf, nil)), endpoint: "http://c/v1/traces", every: time.Hour}
	for range 5 {
		e.Handle(errors.New("connection refused"))
	}
	if got := strings.Count(buf.String(), "exporting trace spans"); got != 1 {
		t.Errorf("got %d lines for 5 errors within the period, want 1", got)
	}
	e.last = time.Now().Add(-2 * time.Hour)
	e.Handle(errors.New("connection refused"))
	if got := buf.String(); strings.Count(got, "exporting trace spans") != 2 || !strings.Contains(got, "errors_not_logged=4") {
		t.Errorf("got %q, want a second line counting the 4 errors not logged", got)
	}
}

// syncBuf is a bytes.Buffer for a logger.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
