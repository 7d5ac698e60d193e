// Package sidecar runs `pylon sidecar`, the mesh data plane beside one
// instance of a service. It enrolls for the workload's SPIFFE identity,
// checks its app and keeps the instance registered with the app's health,
// and serves, from what the control plane pushes: an inbound listener that
// takes mutual TLS from other sidecars, checks the authorization policies
// and forwards to the app; and loopback listeners through which the app
// calls its upstream services, over pooled mutual TLS HTTP/2 connections
// to their sidecars. The request path is the gateway's: the same balancers,
// outlier ejection, breakers, retries and metrics.
package sidecar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/authz"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/dataplane"
	"github.com/pylon-mesh/pylon/enroll"
	"github.com/pylon-mesh/pylon/health"
	"github.com/pylon-mesh/pylon/meshtls"
	"github.com/pylon-mesh/pylon/proxy"
	"github.com/pylon-mesh/pylon/push"
	"github.com/pylon-mesh/pylon/registration"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/snapshot"
	"github.com/pylon-mesh/pylon/tracing"
	"github.com/pylon-mesh/pylon/tracing/tracecontext"
	"github.com/pylon-mesh/pylon/tunnel"
)

// Upstream is a service the app calls, and the loopback address it calls
// it at.
type Upstream struct {
	Name   string
	Listen string
}

// Options configure a sidecar.
type Options struct {
	// Control lists the control plane replicas; JoinToken enrolls.
	Control   []string
	JoinToken string
	// Service is the app's service; it must be the one the token names.
	Service string
	// App is the app's address; Protocol how it speaks (http1, h2c, grpc
	// or tcp).
	App      string
	Protocol string
	// Inbound is where other sidecars reach this one (mutual TLS);
	// Advertise is the address they dial, registered with the instance
	// (Inbound when empty).
	Inbound   string
	Advertise string
	// Upstreams are the services the app calls.
	Upstreams []Upstream
	// ProxyAddr, when set, is an HTTP proxy listener: the app sends
	// http://<service>/... there.
	ProxyAddr string
	// Health is how the app is checked.
	Health health.Config
	// InstanceID names the instance; default <service>-<pid>.
	InstanceID string
	// Local holds the sidecar's own settings: admin and access_log.
	Local config.Config
	// DrainTimeout bounds the graceful stop.
	DrainTimeout time.Duration
	// DrainDelay is how long a graceful stop keeps serving as usual after
	// deregistering, so that callers learn the instance left before its
	// inbound listener closes (their new connections would be refused).
	DrainDelay time.Duration
	// Build is reported to the control plane.
	Build  string
	Logger *slog.Logger
	// Tracer, when set, exports a span per HTTP request (package tracing);
	// requests on InboundListener are the app's to serve, the others its
	// calls out.
	Tracer dataplane.Tracer
}

// InboundListener is the name of the inbound listener in the records of
// the sidecar's requests; the other listeners carry the app's calls out.
const InboundListener = inboundListener

// Run serves until ctx ends, then deregisters, drains and returns.
func Run(ctx context.Context, o Options) error {
	if o.InstanceID == "" {
		o.InstanceID = o.Service + "-" + strconv.Itoa(os.Getpid())
	}
	agent, err := enroll.NewAgent(enroll.AgentOptions{Addrs: o.Control, JoinToken: o.JoinToken, Logger: o.Logger})
	if err != nil {
		return err
	}
	if err := agent.Enroll(ctx); err != nil {
		return fmt.Errorf("enroll with the control plane: %w", err)
	}
	if err := checkIdentity(agent.ID(), o.Service); err != nil {
		return err
	}
	o.Logger.Info("enrolled with the control plane", "id", agent.ID().String(), "expires", agent.NotAfter())
	s := newSidecar(o, agent)
	return s.run(ctx)
}

// checkIdentity makes sure the token enrolled the service the sidecar
// serves.
func checkIdentity(id spiffeid.ID, service string) error {
	_, svc, ok := meshtls.Workload(id)
	if !ok || svc != service {
		return fmt.Errorf("the join token is for %s, not service %q; make one with `pylon ctl token create --service %s`", id, service, service)
	}
	return nil
}

// sidecar is one running sidecar.
type sidecar struct {
	o      Options
	agent  *enroll.Agent
	log    *slog.Logger
	rt     *dataplane.Runtime
	peers  meshtls.PeerSet
	authz  *authorizer
	app    *appHealth
	stats  meshtls.Stats
	applyM sync.Mutex
	mesh   *dataplane.Mesh
	edges  *edgeMetrics
	// tcpIdle is how long, in nanoseconds, a TCP stream to this sidecar's
	// app may go with no byte moving: the service's calls.tcp_idle_timeout
	// from the last snapshot.
	tcpIdle atomic.Int64
	// expiredLogged keeps the expired-certificate error to one line per
	// expiry.
	expiredLogged atomic.Bool
	// upstreams are the app's upstreams by the name of their loopback
	// listener.
	upstreams map[string]*upstream
	ctx       context.Context // the data plane's, for the TCP streams
}

func newSidecar(o Options, agent *enroll.Agent) *sidecar {
	s := &sidecar{o: o, agent: agent, log: o.Logger}
	s.tcpIdle.Store(int64(config.DefaultTCPIdleTimeout))
	s.authz = &authorizer{self: agent.ID().String(), log: o.Logger}
	s.edges = newEdgeMetrics(o.Service, &s.stats)
	s.app = newAppHealth(o.App, o.Health, o.Logger)
	s.mesh = &dataplane.Mesh{
		ListenerTLS:   meshtls.ServerConfig(agent, false, &s.stats, o.Logger),
		PermissiveTLS: meshtls.ServerConfig(agent, true, &s.stats, o.Logger),
		OnPlaintext:   s.edges.plaintext.Inc,
		Transport:     meshtls.Transport(agent, s.peers.Lookup, &s.stats),
		Authorize:     s.authz.authorize,
		Connect:       s.tunnels(),
		Observe:       s.edges.observe,
		Collectors:    s.edges.collectors(),
	}
	s.upstreams = map[string]*upstream{}
	for _, u := range o.Upstreams {
		name := u.Name
		service := func() (*proxy.Service, *config.Service) { return s.rt.Service(name), s.rt.ServiceConfig(name) }
		s.upstreams[outboundListener(name)] = &upstream{name: name, l4: newL4Upstream(name, s.mesh.Transport, service, s.edges, s.tunnelTracer(), o.Logger)}
	}
	local := o.Local
	s.rt = dataplane.New(dataplane.Options{Managed: &local, Mesh: s.mesh, Logger: o.Logger, DrainTimeout: o.DrainTimeout,
		Ready: s.certValid, Tracer: o.Tracer, Listen: s.listen})
	return s
}

// listen opens a listener of the data plane: an upstream's splits its
// connections between the data plane (HTTP) and tunnels (TCP).
func (s *sidecar) listen(name, addr string) (net.Listener, error) {
	if u := s.upstreams[name]; u != nil {
		return listenUpstream(s.ctx, addr, u, s.log)
	}
	return net.Listen("tcp", addr)
}

// tunnels serves the TCP streams other sidecars open to this one's app
// (authorized by the inbound listener like any request).
func (s *sidecar) tunnels() http.Handler {
	var d net.Dialer
	return tunnel.Handler(tunnel.HandlerOptions{
		Authorize: func(r *http.Request) (int, error) {
			if r.Host != s.o.Service {
				return http.StatusMisdirectedRequest, fmt.Errorf("this sidecar serves %s, not %s", s.o.Service, r.Host)
			}
			return 0, nil
		},
		Dial:        func(ctx context.Context, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", s.o.App) },
		IdleTimeout: func() time.Duration { return time.Duration(s.tcpIdle.Load()) },
		OnStream:    s.streamSpan,
		Logger:      s.log,
	})
}

// tunnelTracer is the sidecar's tracer when it exports spans of TCP
// streams, else nil.
func (s *sidecar) tunnelTracer() TunnelTracer {
	tt, _ := s.o.Tracer.(TunnelTracer)
	return tt
}

// streamSpan exports the SERVER span of a TCP stream to the app: a child
// of the caller's sidecar's span when its CONNECT carried a traceparent,
// else the first span of a trace of its own.
func (s *sidecar) streamSpan(st tunnel.Stats) {
	tt := s.tunnelTracer()
	if tt == nil {
		return
	}
	sp := tracing.Tunnel{Service: s.o.Service, Listener: InboundListener, Peer: st.Remote,
		Start: time.Now().Add(-st.Duration), Duration: st.Duration, BytesIn: st.BytesIn, BytesOut: st.BytesOut, Err: st.Err}
	if parent, ok := tracecontext.Parse(st.Traceparent); ok {
		sp.Trace, sp.Parent = parent.Child(), parent.SpanID
	} else {
		sp.Trace = tracecontext.Begin(tt.SampleRatio())
	}
	if errors.Is(sp.Err, tunnel.ErrReset) {
		sp.Err = nil // the caller ended the stream: how TCP streams end
	}
	if st.Status != http.StatusOK && sp.Err == nil {
		sp.Err = fmt.Errorf("refused with %d %s", st.Status, http.StatusText(st.Status))
	}
	tt.ObserveTunnel(sp)
}

// run starts every part and stops them in order: the registration first
// (callers stop choosing this instance), then the data plane, which
// drains in-flight requests.
func (s *sidecar) run(ctx context.Context) error {
	dctx, stopData := context.WithCancel(context.Background())
	defer stopData()
	s.ctx = dctx
	rtDone := make(chan error, 1)
	go func() { rtDone <- s.rt.Run(dctx) }()
	go s.agent.Run(dctx)
	go s.app.run(dctx)

	keeper := &registration.Keeper{Dial: s.agent.Dial, Health: s.health, Changed: s.app.changed, Views: s.views, Logger: s.log,
		Instance: registry.Instance{ID: s.o.InstanceID, Service: s.o.Service, Address: cmp.Or(s.o.Advertise, s.o.Inbound), Protocol: s.o.Protocol}}
	kctx, stopKeeper := context.WithCancel(ctx)
	defer stopKeeper()
	kDone := make(chan error, 1)
	go func() { kDone <- keeper.Run(kctx) }()

	wants := make([]string, len(s.o.Upstreams))
	for i, u := range s.o.Upstreams {
		wants[i] = u.Name
	}
	hello := push.Hello{NodeID: s.o.InstanceID, Kind: push.KindSidecar, Build: s.o.Build, Wants: wants}
	pushDone := make(chan error, 1)
	go func() { pushDone <- push.Run(ctx, s.agent.Dial, hello, s.apply, push.ClientOptions{Logger: s.log}) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-rtDone:
		rtDone <- err
		stopKeeper()
	}
	<-kDone // deregistered: callers stop choosing this instance
	if err == nil && s.o.DrainDelay > 0 {
		// Callers learn of the deregistration through the control plane's
		// push; until they do, they may still send requests and open
		// connections here.
		s.log.Info("deregistered; serving on while callers learn it", "drain_delay", s.o.DrainDelay.String())
		select {
		case <-time.After(s.o.DrainDelay):
		case err = <-rtDone:
			rtDone <- err
		}
	}
	<-pushDone
	stopData()
	if rerr := <-rtDone; err == nil {
		err = rerr
	}
	return err
}

// apply turns a snapshot into the data plane's config; an error NACKs it
// and the previous config keeps serving.
func (s *sidecar) apply(ctx context.Context, snap push.Snapshot) error {
	s.applyM.Lock()
	defer s.applyM.Unlock()
	sc, roots, err := snapshot.DecodeSidecar(snap.Version, snap.Payload)
	if err != nil {
		return err
	}
	s.agent.SetRoots(roots)
	engine, err := authz.Compile(sc.Service, sc.Namespace, sc.Policies)
	if err != nil {
		return fmt.Errorf("authorization policies: %w", err)
	}
	cfg, peers, err := buildConfig(&s.o, sc, s.o.Local, s.log)
	if err != nil {
		return err
	}
	s.setUpstreams(sc)
	idle := sc.TCPIdleTimeout.Duration()
	if idle <= 0 {
		idle = config.DefaultTCPIdleTimeout.Duration()
	}
	s.tcpIdle.Store(int64(idle))
	if err := s.peers.Replace(peers, func() error { return s.rt.Apply(ctx, cfg) }); err != nil {
		return err
	}
	s.authz.engine.Store(engine)
	select { // the inbound listener is open: report the health now
	case s.app.changed <- struct{}{}:
	default:
	}
	s.log.Info("applied config from the control plane", "version", snap.Version, "upstreams", len(sc.Upstreams), "policies", len(sc.Policies))
	return nil
}

// setUpstreams gives each upstream the protocol the snapshot says it
// speaks.
func (s *sidecar) setUpstreams(sc *snapshot.Sidecar) {
	for _, up := range sc.Upstreams {
		if u := s.upstreams[outboundListener(up.Service.Name)]; u != nil {
			u.setProtocol(up.Protocol)
		}
	}
}

// certValid reports whether the sidecar's certificate is still valid;
// callers refuse an expired one, so the sidecar is then not ready.
func (s *sidecar) certValid() bool { return time.Now().Before(s.agent.NotAfter()) }

// health is what the registry records: the app's health, or unhealthy
// while the sidecar's certificate is expired (nobody could call it).
func (s *sidecar) health() string {
	if !s.certValid() {
		if s.expiredLogged.CompareAndSwap(false, true) {
			s.log.Error("this sidecar's certificate expired and renewal has not succeeded: callers refuse it; reported unhealthy", "not_after", s.agent.NotAfter())
		}
		return registry.Unhealthy
	}
	s.expiredLogged.Store(false)
	if !s.rt.Ready() {
		return registry.Unknown // the inbound listener is not open yet
	}
	return s.app.state()
}

// views is how this sidecar sees its upstreams' endpoints now, in a
// stable order; weights are rounded so slow start does not make every
// heartbeat a change.
func (s *sidecar) views() []registry.View {
	wanted := map[string]bool{}
	for _, u := range s.upstreams {
		wanted[u.name] = true
	}
	var out []registry.View
	for _, st := range s.rt.Services() {
		if !wanted[st.Name] {
			continue
		}
		for _, e := range st.Endpoints {
			out = append(out, registry.View{Service: st.Name, Endpoint: e.Address, Healthy: e.Healthy, Ejected: e.Ejected,
				Weight: math.Round(e.EffectiveWeight*10) / 10})
		}
	}
	slices.SortFunc(out, func(a, b registry.View) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Endpoint, b.Endpoint))
	})
	return out
}
