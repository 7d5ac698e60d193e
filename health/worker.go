package health

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
)

// worker probes one endpoint every Interval and applies the thresholds.
type worker struct {
	c      *Checker
	ep     *balancer.Endpoint
	target target

	// mu guards the fields below: run writes them, Status reads them.
	mu        sync.Mutex
	lastErr   string
	lastCheck time.Time
	successes int
	failures  int
}

func (w *worker) run(ctx context.Context) {
	defer w.target.close()
	interval := w.c.cfg.Interval
	t := time.NewTimer(time.Duration(rand.Int64N(int64(interval))))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.checkOnce(ctx)
		t.Reset(interval)
	}
}

// checkOnce sends one probe and acts on its result.
func (w *worker) checkOnce(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, w.c.cfg.Timeout)
	err := w.target.check(pctx)
	cancel()
	if ctx.Err() != nil {
		// Shutting down: a probe cut short says nothing about the endpoint.
		return
	}
	now := time.Now()
	if verdict, change := w.record(err, now); change {
		w.apply(verdict, err, now)
	}
}

// record counts the probe result and reports whether it crosses a
// threshold that changes the endpoint's health, and to what.
func (w *worker) record(err error, now time.Time) (healthy, change bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastCheck = now
	if err == nil {
		w.lastErr = ""
		w.successes++
		w.failures = 0
		return true, !w.ep.Healthy() && w.successes >= w.c.cfg.HealthyThreshold
	}
	w.lastErr = err.Error()
	w.failures++
	w.successes = 0
	return false, w.ep.Healthy() && w.failures >= w.c.cfg.UnhealthyThreshold
}

// apply sets the endpoint's health, rebuilds the picker and tells the owner.
func (w *worker) apply(healthy bool, err error, now time.Time) {
	if !w.ep.SetHealthy(healthy, now) {
		return
	}
	w.c.set.Rebuild(now)
	attrs := []slog.Attr{slog.String("endpoint", w.ep.Addr()), slog.String("check", w.c.cfg.Kind.String())}
	if healthy {
		w.c.logger.LogAttrs(context.Background(), slog.LevelInfo, "endpoint healthy", attrs...)
	} else {
		attrs = append(attrs, slog.String("error", err.Error()))
		w.c.logger.LogAttrs(context.Background(), slog.LevelWarn, "endpoint unhealthy", attrs...)
	}
	if w.c.onChange != nil {
		w.c.onChange()
	}
}

func (w *worker) status() EndpointStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return EndpointStatus{
		Addr: w.ep.Addr(), Healthy: w.ep.Healthy(), LastError: w.lastErr, LastCheck: w.lastCheck,
		ConsecutiveSuccesses: w.successes, ConsecutiveFailures: w.failures,
	}
}
