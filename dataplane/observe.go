package dataplane

import (
	"fmt"
	"os"
	"time"

	"github.com/pylon-mesh/pylon/accesslog"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/metrics"
	"github.com/pylon-mesh/pylon/proxy"
)

// observers fans a record out to the metrics and the access log.
type observers struct {
	metrics *metrics.Registry
	log     *accesslog.Logger
	extra   func(*proxy.Record) // Mesh.Observe
	tracer  Tracer
}

// Observe implements proxy.Observer.
func (o *observers) Observe(r *proxy.Record) {
	o.metrics.Observe(r)
	if o.log != nil {
		o.log.Observe(r)
	}
	if o.extra != nil {
		o.extra(r)
	}
	if o.tracer != nil {
		o.tracer.Observe(r)
	}
}

// observer returns the observer for cfg, reopening the access log only when
// its settings changed. Called with rt.mu held.
func (rt *Runtime) observer(cfg *config.Config) (proxy.Observer, error) {
	al := cfg.AccessLog
	if rt.log != nil && al == rt.logKey {
		return &observers{metrics: rt.metrics, log: rt.log, extra: rt.meshObserve(), tracer: rt.opts.Tracer}, nil
	}
	var next *accesslog.Logger
	switch al.Path {
	case "off":
	case "", "stdout":
		next = accesslog.New(rt.opts.Stdout, nil, al.Sample)
	case "stderr":
		next = accesslog.New(rt.opts.Stderr, nil, al.Sample)
	default:
		f, err := os.OpenFile(al.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("access_log.path: %w", err)
		}
		next = accesslog.New(f, f, al.Sample)
	}
	if prev := rt.log; prev != nil {
		rt.logDropped += prev.Dropped()
		// Requests still running on the old snapshot log to the old logger;
		// give them time to finish before it flushes and closes.
		time.AfterFunc(rt.opts.DrainTimeout, func() { prev.Close() })
	}
	rt.log, rt.logKey = next, al
	return &observers{metrics: rt.metrics, log: next, extra: rt.meshObserve(), tracer: rt.opts.Tracer}, nil
}

func (rt *Runtime) meshObserve() func(*proxy.Record) {
	if rt.opts.Mesh == nil {
		return nil
	}
	return rt.opts.Mesh.Observe
}
