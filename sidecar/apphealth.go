package sidecar

import (
	"context"
	"log/slog"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/health"
	"github.com/pylon-mesh/pylon/registry"
)

// appHealth checks the app with the gateway's active health checker,
// over one endpoint: the app. The app counts as unhealthy until a probe
// passes, so the instance takes no traffic before it is ready.
type appHealth struct {
	ep      *balancer.Endpoint
	checker *health.Checker
	changed chan struct{}
}

func newAppHealth(addr string, cfg health.Config, log *slog.Logger) *appHealth {
	h := &appHealth{ep: balancer.NewEndpoint(addr, 1), changed: make(chan struct{}, 1)}
	h.ep.SetHealthy(false, time.Now())
	b, _ := balancer.Lookup("round_robin")
	set := balancer.NewSet(b, []*balancer.Endpoint{h.ep}, 0, 0)
	h.checker = health.NewChecker(cfg, set, log.With("check", "app"), func() {
		select {
		case h.changed <- struct{}{}:
		default:
		}
	})
	return h
}

func (h *appHealth) run(ctx context.Context) { h.checker.Run(ctx) }

// state is the app's health as the registry records it.
func (h *appHealth) state() string {
	if h.ep.Healthy() {
		return registry.Healthy
	}
	return registry.Unhealthy
}
