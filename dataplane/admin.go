package dataplane

import (
	"github.com/pylon-mesh/pylon/admin"
	"github.com/pylon-mesh/pylon/config"
)

// adminSource adapts the runtime to admin.Source.
type adminSource struct{ rt *Runtime }

func (a adminSource) Ready() bool {
	return a.rt.ready.Load() && (a.rt.opts.Ready == nil || a.rt.opts.Ready())
}

func (a adminSource) Config() any { return a.rt.cfg.Load().Redacted() }

func (a adminSource) Services() any { return a.rt.Services() }

// startAdmin starts the admin listener unless it is off. Its address is read
// at start only: changing it takes a restart.
func (rt *Runtime) startAdmin(cfg *config.Config) (stop func(), err error) {
	addr := cfg.Admin.Address
	if addr == "off" {
		return func() {}, nil
	}
	s, err := admin.Start(addr, admin.Handler(adminSource{rt}, rt.metrics.Handler()), rt.logger)
	if err != nil {
		return nil, cfg.FieldError("admin.address", err)
	}
	rt.logger.Info("admin listening", "address", s.Addr().String())
	return func() { s.Close() }, nil
}
