// Package tracing exports the spans of the requests pylon serves over OTLP
// with the OpenTelemetry Go SDK. The request path (package proxy, with a
// proxy.Tracing on its snapshot) decides each request's span and its place
// in a W3C trace and propagates it upstream; a Tracer, the data plane's
// dataplane.Tracer, turns each sampled request's Record into a span with
// the record's IDs and times, and hands it to the SDK's batch span
// processor, which sends batches to the collector off the request path.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// GatewayService is the service.name of a gateway's spans.
const GatewayService = "pylon-gateway"

// Options configure a Tracer.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP URL, http or https; a URL
	// without a path gets the standard /v1/traces.
	Endpoint string
	// SampleRatio is the share of the traces pylon begins that are
	// sampled, 0 to 1; a trace a caller began keeps its caller's decision.
	SampleRatio float64
	// Service and Version are the service.name and service.version
	// resource attributes of every span.
	Service, Version string
	// Client reports whether requests on a listener are calls out of the
	// local app, whose spans are of kind CLIENT (a sidecar's outbound
	// listeners); nil: every span is of kind SERVER (a gateway).
	Client func(listener string) bool
	// Logger receives the SDK's export errors, at most one a minute (nil:
	// slog.Default()). The SDK's error handler is process-wide.
	Logger *slog.Logger
}

// Tracer turns records into spans and exports them. It is a
// dataplane.Tracer.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	ratio    float64
	client   func(string) bool
}

// New returns a tracer exporting to o.Endpoint; Shutdown flushes it.
func New(o Options) (*Tracer, error) {
	u, err := endpointURL(o.Endpoint)
	if err != nil {
		return nil, err
	}
	if o.SampleRatio < 0 || o.SampleRatio > 1 {
		return nil, fmt.Errorf("the trace sample ratio %v is not between 0 and 1", o.SampleRatio)
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u))
	if err != nil {
		return nil, fmt.Errorf("start the OTLP exporter: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	otel.SetErrorHandler(&errorLog{logger: o.Logger, endpoint: u, every: time.Minute})
	res := resource.NewSchemaless(attribute.String("service.name", o.Service), attribute.String("service.version", o.Version))
	p := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(recordIDs{}),
	)
	return &Tracer{provider: p, tracer: p.Tracer("github.com/pylon-mesh/pylon"), ratio: o.SampleRatio, client: o.Client}, nil
}

// endpointURL checks a collector URL and gives it the standard path when
// it has none.
func endpointURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("the OTLP endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("the OTLP endpoint %q is not an http or https URL", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// SampleRatio is the share of the traces pylon begins that are sampled.
func (t *Tracer) SampleRatio() float64 { return t.ratio }

// Shutdown exports the spans still queued and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush trace spans: %w", err)
	}
	return nil
}

// errorLog logs the SDK's errors (a collector down fails every batch),
// at most one per period, with how many were not logged since.
type errorLog struct {
	logger   *slog.Logger
	endpoint string
	every    time.Duration
	mu       sync.Mutex
	last     time.Time
	skipped  int
}

// Handle implements otel.ErrorHandler.
func (e *errorLog) Handle(err error) {
	e.mu.Lock()
	now := time.Now()
	if !e.last.IsZero() && now.Sub(e.last) < e.every {
		e.skipped++
		e.mu.Unlock()
		return
	}
	skipped := e.skipped
	e.last, e.skipped = now, 0
	e.mu.Unlock()
	e.logger.Warn("exporting trace spans", "endpoint", e.endpoint, "err", err.Error(), "errors_not_logged", skipped)
}
