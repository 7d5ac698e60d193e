// Package health runs active health checks against a service's endpoints
// and takes failing ones out of load balancing.
//
// A Checker probes every endpoint of a balancer.Set on its own goroutine,
// once per Interval, starting at a random offset within the first Interval so
// that many checkers do not probe in step. A probe is an HTTP GET (HTTP/1.1
// or HTTP/2, cleartext or TLS), a gRPC health Check RPC
// (grpc.health.v1.Health) or a TCP connect.
//
// Endpoints start healthy: the data plane sends traffic to a new endpoint
// before its first check has run, and relies on outlier detection
// (package health/outlier) to catch one that fails meanwhile. An endpoint
// becomes unhealthy after UnhealthyThreshold failed probes in a row and
// healthy again after HealthyThreshold passed probes in a row; each change
// rebuilds the set's picker and calls the checker's onChange hook. A return to
// health starts the endpoint's slow-start ramp.
package health

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
)

// Kind is the kind of probe a Checker sends.
type Kind uint8

// Probe kinds.
const (
	// HTTP sends GET Config.HTTPPath and checks the response status.
	HTTP Kind = iota
	// GRPC calls grpc.health.v1.Health/Check for Config.GRPCService.
	GRPC
	// TCP opens a TCP connection and closes it.
	TCP
)

// String returns the kind's config name: http, grpc or tcp.
func (k Kind) String() string {
	switch k {
	case HTTP:
		return "http"
	case GRPC:
		return "grpc"
	case TCP:
		return "tcp"
	}
	return "unknown"
}

// Defaults applied to zero Config fields.
const (
	// DefaultInterval is the probe interval when Config.Interval is zero.
	DefaultInterval = 5 * time.Second
	// DefaultTimeout is the probe timeout when Config.Timeout is zero.
	DefaultTimeout = time.Second
)

// Config is one service's active health check.
type Config struct {
	// Kind is the probe to send.
	Kind Kind
	// Interval is the time between probes of one endpoint; zero means
	// DefaultInterval.
	Interval time.Duration
	// Timeout bounds one probe; zero means DefaultTimeout.
	Timeout time.Duration
	// HealthyThreshold is how many passed probes in a row make an unhealthy
	// endpoint healthy; zero means 1.
	HealthyThreshold int
	// UnhealthyThreshold is how many failed probes in a row make a healthy
	// endpoint unhealthy; zero means 1.
	UnhealthyThreshold int
	// HTTPPath is the path an HTTP probe gets; empty means "/".
	HTTPPath string
	// ExpectedStatuses are the statuses that pass an HTTP probe; empty means
	// any 2xx.
	ExpectedStatuses []int
	// GRPCService is the service name a gRPC probe asks about; empty asks
	// about the server as a whole.
	GRPCService string
	// Host is the Host header of HTTP probes and the authority of gRPC
	// probes; empty means the endpoint's address.
	Host string
	// TLS, when set, makes HTTP and gRPC probes use TLS with this config;
	// nil means plaintext. TCP probes only connect and ignore it.
	TLS *tls.Config
	// Protocol is how HTTP probes speak to the endpoint: "http1" (or empty)
	// for HTTP/1.1; "h2", "h2c" and "grpc" for HTTP/2 only, over TLS when TLS
	// is set and with prior knowledge over cleartext when not.
	Protocol string
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	c.HealthyThreshold = max(c.HealthyThreshold, 1)
	c.UnhealthyThreshold = max(c.UnhealthyThreshold, 1)
	if c.HTTPPath == "" || c.HTTPPath[0] != '/' {
		c.HTTPPath = "/" + c.HTTPPath
	}
	return c
}

// EndpointStatus is the health-check state of one endpoint, for the admin
// API.
type EndpointStatus struct {
	// Addr is the endpoint's host:port.
	Addr string `json:"addr"`
	// Healthy is the endpoint's current verdict (true before any check).
	Healthy bool `json:"healthy"`
	// LastError is why the last probe failed; empty if it passed.
	LastError string `json:"last_error,omitempty"`
	// LastCheck is when the last probe finished; zero before the first.
	LastCheck time.Time `json:"last_check"`
	// ConsecutiveSuccesses counts passed probes since the last failure.
	ConsecutiveSuccesses int `json:"consecutive_successes"`
	// ConsecutiveFailures counts failed probes since the last pass.
	ConsecutiveFailures int `json:"consecutive_failures"`
}

// Checker actively checks the endpoints of one set. Run is called once;
// Status is safe for concurrent use.
type Checker struct {
	cfg      Config
	set      *balancer.Set
	logger   *slog.Logger
	onChange func()
	probes   prober

	mu      sync.Mutex
	workers map[*balancer.Endpoint]*worker
}

// NewChecker returns a checker for set's endpoints. onChange, if not nil, is
// called (from a checker goroutine) after an endpoint's health changed and
// the set was rebuilt. A nil logger discards logs.
func NewChecker(cfg Config, set *balancer.Set, logger *slog.Logger, onChange func()) *Checker {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{
		cfg: cfg, set: set, logger: logger, onChange: onChange,
		probes:  newProber(cfg),
		workers: map[*balancer.Endpoint]*worker{},
	}
}

// Run checks the set's endpoints until ctx is done, then stops every probe
// goroutine and returns once they have all exited. Endpoints added to or
// removed from the set are picked up within an Interval.
func (c *Checker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	running := map[*balancer.Endpoint]context.CancelFunc{}
	defer func() {
		for _, cancel := range running {
			cancel()
		}
		wg.Wait()
		c.probes.close()
	}()
	ticker := time.NewTicker(c.cfg.Interval)
	defer ticker.Stop()
	for {
		c.reconcile(ctx, &wg, running)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// reconcile starts a worker for each new endpoint of the set and stops the
// workers of endpoints that left it.
func (c *Checker) reconcile(ctx context.Context, wg *sync.WaitGroup, running map[*balancer.Endpoint]context.CancelFunc) {
	current := map[*balancer.Endpoint]bool{}
	for _, ep := range c.set.Endpoints() {
		current[ep] = true
		if running[ep] != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		running[ep] = cancel
		w := &worker{c: c, ep: ep, target: c.probes.target(ep.Addr())}
		c.mu.Lock()
		c.workers[ep] = w
		c.mu.Unlock()
		wg.Go(func() { w.run(wctx) })
	}
	for ep, cancel := range running {
		if !current[ep] {
			cancel()
			delete(running, ep)
			c.mu.Lock()
			delete(c.workers, ep)
			c.mu.Unlock()
		}
	}
}

// Status reports every checked endpoint, sorted by address.
func (c *Checker) Status() []EndpointStatus {
	c.mu.Lock()
	out := make([]EndpointStatus, 0, len(c.workers))
	for _, w := range c.workers {
		out = append(out, w.status())
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}
