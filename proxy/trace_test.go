package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/internal/testpki"
	"github.com/pylon-mesh/pylon/tracing/tracecontext"
)

// traceUpstream records the trace headers of the requests reaching it.
type traceUpstream struct {
	mu     sync.Mutex
	parent []string // traceparent values, joined with "|" when several
	state  []string
	srv    *httptest.Server
}

func newTraceUpstream(t testing.TB) *traceUpstream {
	u := &traceUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.parent = append(u.parent, join(r.Header["Traceparent"]))
		u.state = append(u.state, join(r.Header["Tracestate"]))
		u.mu.Unlock()
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func join(vv []string) string {
	out := ""
	for i, v := range vv {
		if i > 0 {
			out += "|"
		}
		out += v
	}
	return out
}

// spanRecorder keeps the trace fields of each record.
type spanRecorder struct {
	mu    sync.Mutex
	spans []spanSeen
}

type spanSeen struct {
	Trace  tracecontext.Context
	Parent tracecontext.SpanID
}

func (s *spanRecorder) Observe(r *Record) {
	s.mu.Lock()
	s.spans = append(s.spans, spanSeen{Trace: r.Trace, Parent: r.ParentSpan})
	s.mu.Unlock()
}

// wait returns the first record, which the server reports just after the
// client saw the response.
func (s *spanRecorder) wait(t *testing.T) spanSeen {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		s.mu.Lock()
		n := len(s.spans)
		s.mu.Unlock()
		if n > 0 {
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.spans) != 1 {
		t.Fatalf("got %d records, want 1", len(s.spans))
	}
	return s.spans[0]
}

const (
	callerParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	callerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan   = "00f067aa0ba902b7"
)

// TestTracePropagation sends requests with and without a traceparent
// through each forwarding path (HTTP/1.1 to an http1 service, HTTP/1.1 to
// a RoundTripper service, HTTP/2 to a RoundTripper) and checks what the
// upstream got and what the record says.
func TestTracePropagation(t *testing.T) {
	paths := []struct {
		name  string
		h2    bool
		proto Protocol
	}{
		{"http1 to http1", false, HTTP1},
		{"http1 to roundtripper", false, H2C},
		{"h2c to http1", true, HTTP1},
	}
	tests := []struct {
		name    string
		on      bool
		parent  []string
		state   string
		sampled bool
		// continued: the upstream's trace is the caller's.
		continued bool
		wantState string
	}{
		{name: "off, none", on: false},
		{name: "off, kept as is", on: false, parent: []string{callerParent}, state: "k=v", wantState: "k=v"},
		{name: "on, none begins a trace", on: true, sampled: true},
		{name: "on, continued", on: true, parent: []string{callerParent}, state: "k=v", sampled: true, continued: true, wantState: "k=v"},
		{name: "on, unsampled caller", on: true, parent: []string{callerParent[:53] + "00"}, continued: true},
		{name: "on, invalid restarts", on: true, parent: []string{"00-" + callerTrace + "-0000000000000000-01"}, state: "k=v", sampled: true},
		{name: "on, duplicated restarts", on: true, parent: []string{callerParent, callerParent}, state: "k=v", sampled: true},
	}
	for _, p := range paths {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				up := newTraceUpstream(t)
				svc := testService(t, up.srv.Listener.Addr().String())
				svc.Protocol = p.proto
				if p.proto != HTTP1 {
					// An HTTP/1.1 transport stands in for the service's
					// HTTP/2 one, so the same upstream serves every path.
					tr := &http.Transport{}
					t.Cleanup(tr.CloseIdleConnections)
					svc.RT = tr
				}
				lc := testListener(t, "plain", svc)
				rec := &spanRecorder{}
				snap := &Snapshot{Listeners: map[string]*ListenerConfig{"plain": lc}, Observer: rec}
				if tt.on {
					snap.Tracing = &Tracing{SampleRatio: 1}
				}
				srv := NewServer(slog.New(slog.DiscardHandler))
				srv.Store(snap)
				t.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					srv.Shutdown(ctx)
				})
				addr := serveOn(t, srv, "plain")
				e := &hookEnv{ca: testpki.NewCA(t)}
				req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/x", nil)
				if err != nil {
					t.Fatal(err)
				}
				if tt.parent != nil {
					req.Header["Traceparent"] = tt.parent
				}
				if tt.state != "" {
					req.Header.Set("Tracestate", tt.state)
				}
				resp, err := e.httpClient(t, p.h2, false).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("got status %d, want 200", resp.StatusCode)
				}
				span := rec.wait(t)
				up.mu.Lock()
				gotParent, gotState := up.parent[0], up.state[0]
				up.mu.Unlock()
				if diff := cmp.Diff(tt.wantState, gotState); diff != "" {
					t.Errorf("tracestate upstream (-want +got):\n%s", diff)
				}
				if !tt.on {
					if want := join(tt.parent); gotParent != want {
						t.Errorf("got traceparent %q upstream, want %q untouched", gotParent, want)
					}
					if span != (spanSeen{}) {
						t.Errorf("got span %+v in the record, want none", span)
					}
					return
				}
				checkSpan(t, span, gotParent, tt.sampled, tt.continued)
			})
		}
	}
}

// checkSpan checks the traceparent the upstream got against the record's
// span and the caller's.
func checkSpan(t *testing.T, span spanSeen, gotParent string, sampled, continued bool) {
	t.Helper()
	up, ok := tracecontext.Parse(gotParent)
	if !ok {
		t.Fatalf("got traceparent %q upstream, want a valid one", gotParent)
	}
	if diff := cmp.Diff(span.Trace, up); diff != "" {
		t.Errorf("the upstream's parent is not pylon's span (-record +upstream):\n%s", diff)
	}
	if up.Sampled() != sampled {
		t.Errorf("got sampled %v, want %v", up.Sampled(), sampled)
	}
	if !continued {
		if up.TraceID.String() == callerTrace || !span.Parent.IsZero() {
			t.Errorf("got trace %s with parent %s, want a new trace without a parent", up.TraceID, span.Parent)
		}
		return
	}
	if up.TraceID.String() != callerTrace || span.Parent.String() != callerSpan {
		t.Errorf("got trace %s parent %s, want trace %s parent %s", up.TraceID, span.Parent, callerTrace, callerSpan)
	}
	if up.SpanID.String() == callerSpan {
		t.Error("the upstream got the caller's span as its parent, want pylon's own")
	}
}

// TestTraceSampleRatio: a trace pylon begins is sampled per the ratio.
func TestTraceSampleRatio(t *testing.T) {
	for _, ratio := range []float64{0, 1} {
		var r Record
		beginSpan(&Tracing{SampleRatio: ratio}, &r, "", 0)
		if got, want := r.Trace.Sampled(), ratio == 1; got != want {
			t.Errorf("ratio %v: got sampled %v, want %v", ratio, got, want)
		}
	}
}
