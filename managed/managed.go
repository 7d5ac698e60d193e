// Package managed runs a gateway whose config comes from a control plane
// (`pylon gateway --control ADDR --join-token T`): it enrolls for a
// workload certificate, keeps the config push stream open, and applies
// each snapshot to the data plane, ACKing what it applied and NACKing what
// it could not. When the control plane is gone it keeps serving what it
// last applied, and reconnects with backoff.
package managed

import (
	"net/http"

	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/enroll"
	"github.com/pylon-mesh/pylon/meshtls"
	"github.com/pylon-mesh/pylon/push"
	"github.com/pylon-mesh/pylon/snapshot"
)

// Options configure a managed gateway.
type Options struct {
	// Control lists the control plane replicas, host:port.
	Control []string
	// JoinToken is the token from `pylon ctl token create`.
	JoinToken string
	// NodeID names this gateway to the control plane; default
	// hostname-pid.
	NodeID string
	// Listen moves listeners to local addresses, by listener name (several
	// gateways on one host, or a host-specific interface).
	Listen map[string]string
	// Local holds the per-gateway settings every pushed config gets:
	// admin, access_log and trusted_proxies.
	Local *config.Config
	// Build is this binary's version, reported to the control plane.
	Build  string
	Logger *slog.Logger
}

// Runtime is the data plane a managed gateway drives (a *dataplane.Runtime).
type Runtime interface {
	// Apply serves a validated config in place of the running one.
	Apply(ctx context.Context, cfg *config.Config) error
}

// Gateway is a managed gateway's link to its control plane.
type Gateway struct {
	o         Options
	agent     *enroll.Agent
	peers     meshtls.PeerSet
	transport http.RoundTripper
	stats     meshtls.Stats
}

// New checks the options and makes the gateway's identity agent; Run
// enrolls it.
func New(o Options) (*Gateway, error) {
	if o.NodeID == "" {
		host, _ := os.Hostname()
		o.NodeID = host + "-" + strconv.Itoa(os.Getpid())
	}
	agent, err := enroll.NewAgent(enroll.AgentOptions{Addrs: o.Control, JoinToken: o.JoinToken, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	g := &Gateway{o: o, agent: agent}
	g.transport = meshtls.Transport(agent, g.peers.Lookup, &g.stats)
	return g, nil
}

// Transport carries the gateway's requests to mesh services: mutual TLS
// with the gateway's identity to their sidecars (the data plane's
// Mesh.Transport).
func (g *Gateway) Transport() http.RoundTripper { return g.transport }

// Run enrolls and then keeps rt's config in step with the control plane
// until ctx ends. It returns early only when enrollment is refused.
func (g *Gateway) Run(ctx context.Context, rt Runtime) error {
	o, agent := g.o, g.agent
	if err := agent.Enroll(ctx); err != nil {
		return fmt.Errorf("enroll with the control plane: %w", err)
	}
	o.Logger.Info("enrolled with the control plane", "id", agent.ID().String(), "expires", agent.NotAfter())
	go func() {
		if err := agent.Run(ctx); err != nil && ctx.Err() == nil {
			o.Logger.Error("certificate renewal stopped", "err", err.Error())
		}
	}()
	a := &applier{rt: rt, g: g, agent: agent, o: o, warned: map[string]bool{}}
	hello := push.Hello{NodeID: o.NodeID, Kind: push.KindGateway, Build: o.Build}
	err := push.Run(ctx, agent.Dial, hello, a.apply, push.ClientOptions{Logger: o.Logger, OnState: a.state})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type applier struct {
	rt     Runtime
	g      *Gateway
	agent  *enroll.Agent
	o      Options
	warned map[string]bool
}

func (a *applier) state(connected bool, err error) {
	if connected {
		a.o.Logger.Info("connected to the control plane")
	} else if err != nil {
		a.o.Logger.Warn("control plane unreachable; serving the last applied config", "err", err.Error())
	}
}

// apply checks a snapshot with the gateway's local settings added and
// serves it; any error becomes the NACK's message.
func (a *applier) apply(ctx context.Context, s push.Snapshot) error {
	cfg, peers, roots, err := snapshot.Decode("snapshot "+s.Version, s.Payload)
	if roots != nil {
		// The trust bundle is taken even when the config is refused: a CA
		// rotation must reach every data plane whatever else is wrong.
		a.agent.SetRoots(roots)
	}
	if err == nil {
		a.localize(cfg)
		err = cfg.ValidateMode(config.Managed)
	}
	if err == nil {
		err = a.g.peers.Replace(peers, func() error { return a.rt.Apply(ctx, cfg) })
	}
	if err != nil {
		a.o.Logger.Error("refused a config from the control plane; the previous one keeps serving", "version", s.Version, "err", err.Error())
		return err
	}
	a.o.Logger.Info("applied config from the control plane", "version", s.Version,
		"listeners", len(cfg.Listeners), "routes", len(cfg.Routes), "services", len(cfg.Services))
	return nil
}

// localize puts the gateway's own settings into a pushed config.
func (a *applier) localize(cfg *config.Config) {
	if l := a.o.Local; l != nil {
		cfg.Admin, cfg.AccessLog, cfg.TrustedProxies = l.Admin, l.AccessLog, l.TrustedProxies
	}
	seen := map[string]bool{}
	for i := range cfg.Listeners {
		if addr, ok := a.o.Listen[cfg.Listeners[i].Name]; ok {
			cfg.Listeners[i].Address = addr
			seen[cfg.Listeners[i].Name] = true
		}
	}
	for name := range a.o.Listen {
		if !seen[name] && !a.warned[name] {
			a.warned[name] = true
			a.o.Logger.Warn("--listen names a listener the control plane does not have", "listener", name,
				"listeners", strings.Join(listenerNames(cfg), ","))
		}
	}
}

func listenerNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Listeners))
	for i, l := range cfg.Listeners {
		out[i] = l.Name
	}
	return out
}
