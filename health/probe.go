package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// prober makes the per-endpoint targets of one kind of probe and owns what
// they share (the HTTP client).
type prober interface {
	target(addr string) target
	close()
}

// target probes one endpoint. check returns nil when the endpoint passes.
// close releases what the target holds open between probes.
type target interface {
	check(ctx context.Context) error
	close()
}

func newProber(cfg Config) prober {
	switch cfg.Kind {
	case HTTP:
		return newHTTPProber(cfg)
	case GRPC:
		return grpcProber{cfg: cfg}
	case TCP:
		return tcpProber{}
	}
	return badProber{kind: cfg.Kind}
}

// maxBody is how much of a probe response body is read so that the
// connection can be reused; a longer body costs a new connection.
const maxBody = 64 << 10

type httpProber struct {
	cfg    Config
	client *http.Client
}

// newHTTPProber builds the one client all of a checker's HTTP probes share;
// it keeps one connection per endpoint alive between probes.
func newHTTPProber(cfg Config) *httpProber {
	protos := new(http.Protocols)
	switch {
	case cfg.Protocol == "" || cfg.Protocol == "http1":
		protos.SetHTTP1(true)
	case cfg.TLS != nil:
		protos.SetHTTP2(true)
	default:
		protos.SetUnencryptedHTTP2(true)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout}).DialContext,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: cfg.Timeout,
		Protocols:           protos,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     2*cfg.Interval + cfg.Timeout,
	}
	client := &http.Client{
		Transport: tr,
		// A redirect is an answer: it passes only if its status is expected.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &httpProber{cfg: cfg, client: client}
}

func (p *httpProber) target(addr string) target {
	scheme := "http"
	if p.cfg.TLS != nil {
		scheme = "https"
	}
	return &httpTarget{p: p, url: scheme + "://" + addr + p.cfg.HTTPPath}
}

func (p *httpProber) close() { p.client.CloseIdleConnections() }

type httpTarget struct {
	p   *httpProber
	url string
}

func (t *httpTarget) check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return fmt.Errorf("build http health check request: %w", err)
	}
	if t.p.cfg.Host != "" {
		req.Host = t.p.cfg.Host
	}
	req.Header.Set("User-Agent", "pylon-health-check")
	resp, err := t.p.client.Do(req)
	if err != nil {
		return fmt.Errorf("http health check: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if !t.p.expected(resp.StatusCode) {
		return fmt.Errorf("http health check %s: unexpected status %d", t.url, resp.StatusCode)
	}
	return nil
}

func (t *httpTarget) close() {}

func (p *httpProber) expected(code int) bool {
	if len(p.cfg.ExpectedStatuses) == 0 {
		return code >= 200 && code <= 299
	}
	return slices.Contains(p.cfg.ExpectedStatuses, code)
}

type grpcProber struct{ cfg Config }

// target opens the endpoint's client connection; it connects lazily and is
// kept across probes. Its reconnect backoff is capped at Interval so a
// recovered endpoint is seen at the next probe or the one after.
func (p grpcProber) target(addr string) target {
	creds := insecure.NewCredentials()
	if p.cfg.TLS != nil {
		creds = credentials.NewTLS(p.cfg.TLS)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  min(time.Second, p.cfg.Interval),
				Multiplier: backoff.DefaultConfig.Multiplier,
				Jitter:     backoff.DefaultConfig.Jitter,
				MaxDelay:   p.cfg.Interval,
			},
			MinConnectTimeout: p.cfg.Timeout,
		}),
	}
	if p.cfg.Host != "" {
		opts = append(opts, grpc.WithAuthority(p.cfg.Host))
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return failing{fmt.Errorf("create grpc health check client for %s: %w", addr, err)}
	}
	return &grpcTarget{conn: conn, client: healthpb.NewHealthClient(conn), service: p.cfg.GRPCService}
}

func (grpcProber) close() {}

type grpcTarget struct {
	conn    *grpc.ClientConn
	client  healthpb.HealthClient
	service string
}

func (t *grpcTarget) check(ctx context.Context) error {
	resp, err := t.client.Check(ctx, &healthpb.HealthCheckRequest{Service: t.service})
	if err != nil {
		return fmt.Errorf("grpc health check: %w", err)
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("grpc health check: service %q is %s", t.service, s)
	}
	return nil
}

func (t *grpcTarget) close() { t.conn.Close() }

type tcpProber struct{}

func (tcpProber) target(addr string) target { return tcpTarget(addr) }

func (tcpProber) close() {}

type tcpTarget string

func (t tcpTarget) check(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", string(t))
	if err != nil {
		return fmt.Errorf("tcp health check: %w", err)
	}
	_ = conn.Close() // connecting was the check; closing tells nothing more
	return nil
}

func (tcpTarget) close() {}

// badProber stands for a Kind this package does not know: every probe
// fails, so the mistake shows in Status rather than as silent health.
type badProber struct{ kind Kind }

func (p badProber) target(string) target {
	return failing{fmt.Errorf("health check kind %d: %w", p.kind, errUnknownKind)}
}

func (badProber) close() {}

var errUnknownKind = errors.New("unknown kind")

// failing is a target whose every probe fails with err.
type failing struct{ err error }

func (f failing) check(context.Context) error { return f.err }

func (failing) close() {}
