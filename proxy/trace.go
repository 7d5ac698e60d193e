package proxy

import (
	"net/http"

	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/tracing/tracecontext"
)

// Tracing is how the request path takes part in W3C Trace Context, set on
// a Snapshot to turn it on. Each HTTP request (not CONNECT tunnels) then
// gets a span of its own: a child of the caller's span when the request
// carries one valid traceparent, else the first span of a new trace,
// sampled with probability SampleRatio. The upstream gets a traceparent
// naming pylon's span as its parent, and the caller's tracestate, which is
// dropped when pylon began the trace (it belonged to another one). The
// span is in the request's Record (Trace, ParentSpan) for an Observer to
// export. A nil Tracing costs the request path one nil check.
type Tracing struct {
	// SampleRatio is the share of the traces pylon begins that are
	// sampled, 0 to 1; a continued trace keeps its caller's decision.
	SampleRatio float64
}

// beginSpan sets the record's span from the traceparent values the request
// came with: several values are as invalid as a malformed one.
func beginSpan[S string | []byte](t *Tracing, r *Record, tp S, count int) {
	if count == 1 {
		if parent, ok := tracecontext.Parse(tp); ok {
			r.Trace, r.ParentSpan = parent.Child(), parent.SpanID
			return
		}
	}
	r.Trace = tracecontext.Begin(t.SampleRatio)
}

// traced reports whether the request has a span of pylon's.
func (r *Record) traced() bool { return !r.Trace.TraceID.IsZero() }

// startTrace sets the span of the HTTP/1.1 request just read.
func (c *conn) startTrace(t *Tracing) {
	var tp []byte
	n := 0
	for _, f := range c.req.Headers {
		if h1.EqualLower(f.Name, "traceparent") {
			tp = f.Value
			n++
		}
	}
	beginSpan(t, &c.rec, tp, n)
}

// traceHeader reports whether a client header is one pylon replaces on a
// traced request: traceparent always, tracestate when pylon began the
// trace.
func (r *Record) traceHeader(name []byte) bool {
	switch len(name) {
	case 10:
		return r.ParentSpan.IsZero() && h1.EqualLower(name, "tracestate")
	case 11:
		return h1.EqualLower(name, "traceparent")
	}
	return false
}

// appendTraceparent appends the traceparent header sent upstream.
func (r *Record) appendTraceparent(h []byte) []byte {
	h = append(h, "Traceparent: "...)
	h = r.Trace.Append(h)
	return append(h, '\r', '\n')
}

// setTraceHeaders puts the trace context sent upstream in an HTTP header.
func (r *Record) setTraceHeaders(h http.Header) {
	var b [tracecontext.Len]byte
	h["Traceparent"] = []string{string(r.Trace.Append(b[:0]))}
	if r.ParentSpan.IsZero() {
		delete(h, "Tracestate")
	}
}

// startTrace sets the span of the HTTP/2 request.
func (x *h2Exchange) startTrace(t *Tracing) {
	var tp string
	vv := x.r.Header["Traceparent"]
	if len(vv) == 1 {
		tp = vv[0]
	}
	beginSpan(t, &x.rec, tp, len(vv))
}
