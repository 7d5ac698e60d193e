package tracing

import (
	"context"
	"net"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/pylon-mesh/pylon/proxy"
	"github.com/pylon-mesh/pylon/tracing/tracecontext"
)

// Observe exports the span of a sampled request; other records are
// ignored. It runs on the request goroutine: the span is queued for the
// batch span processor, which drops spans when its queue is full rather
// than wait.
func (t *Tracer) Observe(r *proxy.Record) {
	if !r.Trace.Sampled() {
		return
	}
	ctx := spanContext(r.Trace, r.ParentSpan)
	kind := trace.SpanKindServer
	if t.client != nil && t.client(r.Listener) {
		kind = trace.SpanKindClient
	}
	_, span := t.tracer.Start(ctx, spanName(r, kind), trace.WithSpanKind(kind),
		trace.WithTimestamp(r.Start), trace.WithAttributes(attributes(r, kind)...))
	if msg, failed := failure(r, kind); failed {
		span.SetStatus(codes.Error, msg)
	}
	span.End(trace.WithTimestamp(r.Start.Add(r.Duration)))
}

// spanName is "<method> <route>" for a server span and "<method>
// <service>" for a client span (the service called), or the method alone
// for a request no route took.
func spanName(r *proxy.Record, kind trace.SpanKind) string {
	switch {
	case kind == trace.SpanKindClient && r.Service != nil:
		return string(r.Method) + " " + r.Service.Name
	case r.Route != nil:
		return string(r.Method) + " " + r.Route.Name
	}
	return string(r.Method)
}

// attributes follow OpenTelemetry's HTTP semantic conventions, with pylon's
// own under pylon.*.
func attributes(r *proxy.Record, kind trace.SpanKind) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 14)
	a = append(a,
		attribute.String("http.request.method", string(r.Method)),
		attribute.String("url.path", string(r.Path)),
		attribute.String("network.protocol.version", protocolVersion(r.Proto)),
		attribute.String("pylon.listener", r.Listener),
		attribute.String("pylon.request_id", string(r.RequestID)),
	)
	host, port := splitHost(string(r.Host))
	if host != "" {
		a = append(a, attribute.String("server.address", host))
	}
	if port > 0 {
		a = append(a, attribute.Int("server.port", port))
	}
	if r.Status > 0 {
		a = append(a, attribute.Int("http.response.status_code", r.Status))
	}
	if kind == trace.SpanKindServer && r.Remote.IsValid() {
		a = append(a, attribute.String("client.address", r.Remote.Addr().Unmap().String()))
	}
	if r.Route != nil {
		a = append(a, attribute.String("pylon.route", r.Route.Name))
	}
	if r.Service != nil {
		a = append(a, attribute.String("pylon.service", r.Service.Name))
	}
	if r.Endpoint != "" {
		a = append(a, attribute.String("pylon.endpoint", r.Endpoint))
	}
	if r.Retries > 0 {
		a = append(a, attribute.Int("pylon.retries", r.Retries))
	}
	if et := errorType(r); et != "" {
		a = append(a, attribute.String("error.type", et))
	}
	return a
}

// errorType is pylon's error code when pylon refused or failed the
// request, else the status code of a 5xx answer.
func errorType(r *proxy.Record) string {
	switch {
	case r.Err != nil:
		return string(r.Err.Code)
	case r.Status >= 500:
		return strconv.Itoa(r.Status)
	}
	return ""
}

// failure says whether the span's status is Error: pylon's own errors, and
// per the HTTP conventions 5xx answers, and 4xx ones for client spans.
func failure(r *proxy.Record, kind trace.SpanKind) (string, bool) {
	switch {
	case r.Err != nil:
		return r.Err.Msg, true
	case r.Status >= 500, kind == trace.SpanKindClient && r.Status >= 400:
		return "", true
	}
	return "", false
}

func protocolVersion(proto string) string {
	switch proto {
	case "HTTP/1.0":
		return "1.0"
	case "HTTP/2.0":
		return "2"
	}
	return "1.1"
}

// splitHost splits a Host header into host and port (0 when absent).
func splitHost(h string) (string, int) {
	host, p, err := net.SplitHostPort(h)
	if err != nil {
		return h, 0
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return host, 0
	}
	return host, port
}

// spanContext is the context a span is started with: it carries the IDs
// pylon chose for the span (see recordIDs) and, unless parent is zero, the
// remote parent span.
func spanContext(span tracecontext.Context, parent tracecontext.SpanID) context.Context {
	ctx := context.WithValue(context.Background(), idsKey{}, span)
	if !parent.IsZero() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID(span.TraceID), SpanID: trace.SpanID(parent),
			TraceFlags: trace.FlagsSampled, Remote: true,
		}))
	}
	return ctx
}

// idsKey keys the record's span in the context its span is started with.
type idsKey struct{}

// recordIDs gives the SDK's span the IDs pylon already chose and sent
// upstream, found in the start context.
type recordIDs struct{}

// NewIDs returns the trace and span IDs of a span that begins a trace.
func (recordIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	c, ok := ctx.Value(idsKey{}).(tracecontext.Context)
	if !ok {
		c = tracecontext.Begin(0)
	}
	return trace.TraceID(c.TraceID), trace.SpanID(c.SpanID)
}

// NewSpanID returns the span ID of a span with a parent.
func (recordIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	c, ok := ctx.Value(idsKey{}).(tracecontext.Context)
	if !ok {
		return trace.SpanID(tracecontext.NewSpanID())
	}
	return trace.SpanID(c.SpanID)
}
