// Package dataplane runs pylon's data plane: it loads and compiles the
// configuration, binds listeners, swaps compiled snapshots into the proxy
// atomically, reloads on demand without dropping anything, serves the admin
// endpoints and shuts down gracefully.
//
// Data flows one way: file -> config.Parse (decode, validate) -> compile ->
// proxy.Snapshot -> one atomic store -> the request path.
package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pylon-mesh/pylon/accesslog"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/internal/memtrim"
	"github.com/pylon-mesh/pylon/metrics"
	"github.com/pylon-mesh/pylon/proxy"
)

// Options configure a Runtime.
type Options struct {
	// ConfigPath is the YAML file to serve.
	ConfigPath string
	// Logger receives the process's own log lines.
	Logger *slog.Logger
	// Stdout and Stderr are where access_log.path stdout and stderr write.
	Stdout, Stderr io.Writer
	// DrainTimeout bounds graceful shutdown; zero means 30s.
	DrainTimeout time.Duration
	// Reload, when it receives, makes the runtime reload the config file
	// (wired to SIGHUP by the command).
	Reload <-chan struct{}
	// WatchInterval is how often the config file is checked for changes;
	// zero means 1s, negative disables watching.
	WatchInterval time.Duration
	// Managed, when set, is the config to start with instead of the file
	// (a managed gateway's local settings, before its control plane sent
	// anything): ConfigPath is not read or watched, the runtime is not
	// ready until the first Apply, and Apply brings each new config.
	Managed *config.Config
	// Mesh is set by a sidecar: its workload identity's TLS and its mesh
	// transport, for listeners and services marked Mesh.
	Mesh *Mesh
	// Ready, when set, is one more condition of /ready (a sidecar's
	// certificate being valid).
	Ready func() bool
	// Tracer, when set, turns tracing on: each HTTP request gets a span in
	// a W3C trace (see proxy.Tracing) and the tracer sees its record.
	Tracer Tracer
	// Listen, when set, opens the socket of a listener instead of
	// net.Listen (a sidecar hands some connections of a listener to its
	// data plane and keeps the others). Closing what it returns must free
	// the address.
	Listen func(name, address string) (net.Listener, error)
}

// Tracer exports the spans of traced requests (package tracing does, over
// OTLP).
type Tracer interface {
	// SampleRatio is the share of the traces pylon begins that are
	// sampled, 0 to 1.
	SampleRatio() float64
	// Observe sees every request's record after the metrics, the access
	// log and Mesh.Observe; Record.Trace says whether the request was
	// sampled. It runs on the request goroutine, must be quick, and must
	// copy what it keeps.
	Observe(r *proxy.Record)
}

// Mesh is what a sidecar gives its data plane.
type Mesh struct {
	// ListenerTLS is the mutual TLS of listeners marked Mesh: the
	// workload's certificate, peers verified against the trust bundle. It
	// is kept across reloads, so it must read the certificate per
	// handshake (GetCertificate, GetConfigForClient).
	ListenerTLS *tls.Config
	// PermissiveTLS replaces ListenerTLS on listeners marked
	// MeshPermissive, which also take plaintext callers, counted by
	// OnPlaintext.
	PermissiveTLS *tls.Config
	OnPlaintext   func()
	// Transport carries requests to services marked Mesh: HTTP/2 over
	// mutual TLS to their sidecars, verifying each one's identity.
	Transport http.RoundTripper
	// Authorize decides each request on listeners marked Mesh (nil: all
	// allowed); Connect serves their HTTP/2 CONNECT tunnels (nil: refused).
	Authorize func(a *proxy.Access) *flow.Error
	Connect   http.Handler
	// Observe, when set, sees every request's record after the metrics and
	// the access log (the sidecar's per-edge metrics); it must be quick.
	Observe func(r *proxy.Record)
	// Collectors are more metrics served on the admin listener's /metrics.
	Collectors []prometheus.Collector
}

// Runtime is one running data plane.
type Runtime struct {
	opts    Options
	logger  *slog.Logger
	server  *proxy.Server
	metrics *metrics.Registry

	// mu serializes applies; the request path never takes it.
	mu        sync.Mutex
	cfg       atomic.Pointer[config.Config]
	services  map[string]*serviceState
	listeners map[string]*listenerState
	log       *accesslog.Logger
	logKey    config.AccessLog
	// limits keeps rate limit counts across reloads.
	limits *limitStores
	// trimOnce releases start-up pages when serving first starts.
	trimOnce sync.Once
	// retiring counts the goroutines stopping services a reload replaced.
	retiring sync.WaitGroup
	// logDropped sums the drops of access loggers already replaced.
	logDropped uint64
	ctx        context.Context
	ready      atomic.Bool
	started    chan struct{} // closed once Run has applied its first config
	wg         sync.WaitGroup
}

// listenerState is a bound socket, kept across reloads while its name and
// address are unchanged.
type listenerState struct {
	address string
	ln      net.Listener
}

// New returns a runtime; Run starts it.
func New(opts Options) *Runtime {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	if opts.WatchInterval == 0 {
		opts.WatchInterval = time.Second
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	rt := &Runtime{
		opts:      opts,
		logger:    opts.Logger,
		server:    proxy.NewServer(opts.Logger),
		metrics:   metrics.New(),
		services:  map[string]*serviceState{},
		listeners: map[string]*listenerState{},
		started:   make(chan struct{}),
		limits:    newLimitStores(opts.Logger),
	}
	rt.metrics.MustRegister(newStateCollector(rt))
	if opts.Mesh != nil {
		rt.metrics.MustRegister(opts.Mesh.Collectors...)
		// A sidecar's threads are what its --cpus says.
		rt.server.KeepOffEventLoops()
	}
	return rt
}

// Run loads the config, serves it until ctx is done, then drains. It
// returns an error when the first config cannot be loaded or served.
func (rt *Runtime) Run(ctx context.Context) error {
	rt.ctx = ctx
	cfg := rt.opts.Managed
	if cfg == nil {
		var err error
		if cfg, err = config.Load(rt.opts.ConfigPath); err != nil {
			return err
		}
	}
	if err := rt.apply(cfg); err != nil {
		return err
	}
	rt.metrics.Reloaded(true)
	stopAdmin, err := rt.startAdmin(cfg)
	if err != nil {
		rt.shutdown()
		return err
	}
	close(rt.started)
	if rt.opts.Managed != nil {
		rt.logger.Info("waiting for the control plane's config", "admin", cfg.Admin.Address)
		<-ctx.Done()
	} else {
		rt.ready.Store(true)
		rt.servingStarted()
		rt.logger.Info("pylon gateway serving", "config", rt.opts.ConfigPath, "listeners", len(cfg.Listeners), "routes", len(cfg.Routes), "services", len(cfg.Services))
		rt.watch(ctx)
	}
	rt.ready.Store(false)
	rt.logger.Info("draining", "timeout", rt.opts.DrainTimeout.String())
	began := time.Now()
	rt.shutdown()
	stopAdmin()
	rt.limits.close()
	rt.logger.Info("stopped", "drained_in", time.Since(began).String())
	return nil
}

// Reload re-reads the config file and applies it; an invalid file is
// refused and the running config keeps serving.
func (rt *Runtime) Reload() error {
	cfg, err := config.Load(rt.opts.ConfigPath)
	if err == nil {
		err = rt.apply(cfg)
	}
	rt.metrics.Reloaded(err == nil)
	if err != nil {
		rt.logger.Error("config reload refused; the previous config keeps serving", "config", rt.opts.ConfigPath, "err", err.Error())
		return err
	}
	rt.logger.Info("config reloaded", "config", rt.opts.ConfigPath, "routes", len(cfg.Routes), "services", len(cfg.Services))
	return nil
}

// Ready reports whether the runtime serves a config (a managed one: since
// its first Apply) and is not draining.
func (rt *Runtime) Ready() bool { return rt.ready.Load() }

// Apply serves cfg (validated by the caller) in place of the running
// config, as a reload does: what does not change keeps running. It waits
// until Run has started. On error the running config keeps serving.
func (rt *Runtime) Apply(ctx context.Context, cfg *config.Config) error {
	select {
	case <-rt.started:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := rt.apply(cfg)
	rt.metrics.Reloaded(err == nil)
	if err != nil {
		return err
	}
	rt.ready.Store(true)
	rt.servingStarted()
	return nil
}

// trimAgainAfter is when the start-up pages are released a second time,
// after what runs around a start (first health checks, registration,
// certificate renewal timers) has run once.
const trimAgainAfter = 10 * time.Second

// servingStarted runs when the runtime first serves a config: the code and
// read-only data only start-up used (the initialisation of every package
// the one binary links) leave the resident set, now and once more a little
// later; what serving uses faults back in from the page cache.
func (rt *Runtime) servingStarted() {
	rt.trimOnce.Do(func() {
		rt.trimStartup()
		time.AfterFunc(trimAgainAfter, rt.trimStartup)
	})
}

func (rt *Runtime) trimStartup() {
	if n, err := memtrim.Executable(); err != nil {
		rt.logger.Debug("could not release start-up pages", "err", err)
	} else {
		rt.logger.Debug("released start-up pages", "bytes", n)
	}
}

// apply compiles cfg, binds new listeners, swaps the snapshot in and retires
// what the previous config used and this one does not.
func (rt *Runtime) apply(cfg *config.Config) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	c, err := compile(cfg, rt.services, rt.metrics, rt.logger, rt.opts.Mesh, rt.limits.env())
	if err != nil {
		return err
	}
	opened, err := rt.bindListeners(cfg)
	if err != nil {
		for _, st := range c.fresh {
			st.stop()
		}
		return err
	}
	obs, err := rt.observer(cfg)
	if err != nil {
		closeListeners(opened)
		for _, st := range c.fresh {
			st.stop()
		}
		return err
	}
	c.snap.Observer = obs
	if t := rt.opts.Tracer; t != nil {
		c.snap.Tracing = &proxy.Tracing{SampleRatio: t.SampleRatio()}
	}
	for _, st := range c.fresh {
		st.start(rt.ctx)
	}
	rt.server.Store(c.snap)
	rt.cfg.Store(cfg)
	for name, ls := range opened {
		rt.listeners[name] = ls
		rt.serveListener(name, ls)
	}
	rt.retire(cfg, c.services)
	return nil
}

// bindListeners opens the sockets of listeners that are new or moved. A
// listener whose name and address are unchanged keeps its socket.
func (rt *Runtime) bindListeners(cfg *config.Config) (map[string]*listenerState, error) {
	opened := map[string]*listenerState{}
	for i, lc := range cfg.Listeners {
		if old := rt.listeners[lc.Name]; old != nil && old.address == lc.Address {
			continue
		}
		rt.releaseAddress(cfg, lc.Address)
		ln, err := rt.listen(lc.Name, lc.Address)
		if err != nil {
			closeListeners(opened)
			return nil, cfg.FieldError(fmt.Sprintf("listeners[%d].address", i), err)
		}
		opened[lc.Name] = &listenerState{address: lc.Address, ln: ln}
	}
	return opened, nil
}

func (rt *Runtime) listen(name, address string) (net.Listener, error) {
	if rt.opts.Listen != nil {
		return rt.opts.Listen(name, address)
	}
	return net.Listen("tcp", address)
}

// releaseAddress closes a running listener that holds address but will not
// keep it under the new config (a renamed listener), so the address can be
// bound again under its new name.
func (rt *Runtime) releaseAddress(cfg *config.Config, address string) {
	for name, ls := range rt.listeners {
		if ls.address == address && addressOf(cfg, name) != address {
			ls.ln.Close()
			delete(rt.listeners, name)
		}
	}
}

func closeListeners(m map[string]*listenerState) {
	for _, ls := range m {
		ls.ln.Close()
	}
}

// serveListener accepts on a listener until it is closed.
func (rt *Runtime) serveListener(name string, ls *listenerState) {
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		if err := rt.server.Serve(ls.ln, name); err != nil {
			rt.logger.Error("listener stopped", "listener", name, "err", err.Error())
		}
	}()
}

// retire closes listeners the config no longer has and stops services it
// no longer uses. Connections on a closed listener finish their requests on
// the new snapshot.
func (rt *Runtime) retire(cfg *config.Config, services map[string]*serviceState) {
	keep := map[string]bool{}
	for _, lc := range cfg.Listeners {
		keep[lc.Name] = true
	}
	for name, ls := range rt.listeners {
		if !keep[name] || ls.address != addressOf(cfg, name) {
			ls.ln.Close()
			delete(rt.listeners, name)
		}
	}
	old := rt.services
	rt.services = services
	var stale []*serviceState
	for name, st := range old {
		if services[name] != st {
			stale = append(stale, st)
		}
	}
	if len(stale) == 0 {
		return
	}
	// Requests still running on the old snapshot may use these services'
	// pools for a while; stopping them only closes idle connections.
	rt.retiring.Add(1)
	go func() {
		defer rt.retiring.Done()
		for _, st := range stale {
			st.stop()
		}
	}()
}

func addressOf(cfg *config.Config, name string) string {
	for _, lc := range cfg.Listeners {
		if lc.Name == name {
			return lc.Address
		}
	}
	return ""
}

// shutdown stops accepting, drains connections and stops every service.
func (rt *Runtime) shutdown() {
	rt.mu.Lock()
	for _, ls := range rt.listeners {
		ls.ln.Close()
	}
	rt.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), rt.opts.DrainTimeout)
	defer cancel()
	rt.shutdownStep("connections cut off at the drain deadline to close", rt.opts.DrainTimeout+slowShutdownStep, func() {
		switch err := rt.server.Shutdown(ctx); {
		case errors.Is(err, context.DeadlineExceeded):
			rt.logger.Warn("drain deadline passed: requests and connections still open were cut off", "timeout", rt.opts.DrainTimeout.String())
		case err != nil:
			rt.logger.Error("shutdown", "err", err.Error())
		}
	})
	rt.shutdownStep("listeners to stop serving", slowShutdownStep, rt.wg.Wait)
	rt.shutdownStep("services a reload replaced to stop", slowShutdownStep, rt.retiring.Wait)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for name, st := range rt.services {
		rt.shutdownStep("service "+name+" to stop", slowShutdownStep, st.stop)
	}
	if rt.log != nil {
		rt.log.Close()
		rt.log = nil
	}
}

// slowShutdownStep is how long a step of a shutdown may take, past what it
// is allowed, before the log says what the shutdown waits for.
const slowShutdownStep = 2 * time.Second

// shutdownStep runs f, a step of a shutdown, and logs a warning naming what
// the shutdown still waits for if f has not returned after d: a process
// that does not stop then says where it is stuck.
func (rt *Runtime) shutdownStep(what string, d time.Duration, f func()) {
	t := time.AfterFunc(d, func() {
		rt.logger.Warn("shutdown still waiting", "for", what, "after", d.String())
	})
	defer t.Stop()
	f()
}

// Check decodes, validates and compiles a config file without serving it:
// what `pylon validate` runs.
func Check(path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	limits := newLimitStores(logger)
	defer limits.close()
	c, err := compile(cfg, nil, metrics.New(), logger, nil, limits.env())
	if err != nil {
		return err
	}
	c.stopFresh()
	return nil
}
