package tracing

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/pylon-mesh/pylon/tracing/tracecontext"
)

// Tunnel is one TCP stream through the mesh, as one of its two sidecars
// saw it: the caller's sidecar exports it as a CLIENT span, the callee's
// as a SERVER span whose parent is the caller's (the CONNECT request that
// opens the tunnel carries a traceparent).
type Tunnel struct {
	// Trace is the stream's own span; only sampled ones are exported.
	Trace tracecontext.Context
	// Parent is the span of the other sidecar, zero when there is none.
	Parent tracecontext.SpanID
	// Client is set for the caller's sidecar's span.
	Client bool
	// Service is the service called; Listener the sidecar listener the
	// stream came in on.
	Service, Listener string
	// Peer is the other end: the instance's sidecar for a client span,
	// the calling sidecar for a server span.
	Peer string
	// Start and Duration span the stream, from the CONNECT to its end.
	Start    time.Time
	Duration time.Duration
	// BytesIn went from the calling app to the called one, BytesOut back.
	BytesIn, BytesOut int64
	// Err is why the stream failed or could not be opened; nil when it
	// ended cleanly.
	Err error
}

// ObserveTunnel exports the span of a sampled TCP stream; others are
// ignored. Like Observe, it only queues the span.
func (t *Tracer) ObserveTunnel(s Tunnel) {
	if !s.Trace.Sampled() {
		return
	}
	ctx := spanContext(s.Trace, s.Parent)
	kind := trace.SpanKindServer
	if s.Client {
		kind = trace.SpanKindClient
	}
	attrs := []attribute.KeyValue{
		attribute.String("network.transport", "tcp"),
		attribute.String("pylon.listener", s.Listener),
		attribute.String("pylon.service", s.Service),
		attribute.Int64("pylon.bytes_in", s.BytesIn),
		attribute.Int64("pylon.bytes_out", s.BytesOut),
	}
	if s.Peer != "" {
		key := "client.address"
		if s.Client {
			key = "pylon.endpoint"
		}
		attrs = append(attrs, attribute.String(key, s.Peer))
	}
	_, span := t.tracer.Start(ctx, "CONNECT "+s.Service, trace.WithSpanKind(kind),
		trace.WithTimestamp(s.Start), trace.WithAttributes(attrs...))
	if s.Err != nil {
		span.SetStatus(codes.Error, s.Err.Error())
	}
	span.End(trace.WithTimestamp(s.Start.Add(s.Duration)))
}
