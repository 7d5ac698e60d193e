package outlier

import (
	"context"
	"log/slog"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
)

// eject takes ep out of balancing if the ejection cap allows it. It is the
// slow path of Observe.
func (d *Detector) eject(ep *balancer.Endpoint, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Another request may have tripped the same streak first, or requests
	// begun before the ejection are still failing: either way, no news.
	if !d.tripped(ep) || ep.Ejected(now) {
		ep.ResetConsecutive()
		return
	}
	reason := "consecutive_5xx"
	if n := d.cfg.ConsecutiveConnectFailures; n > 0 && ep.ConsecutiveConnectFailures() >= n {
		reason = "consecutive_connect_failures"
	}
	eps := d.set.Endpoints()
	ejected := countEjected(eps, now)
	if !d.mayEject(ejected, len(eps)) {
		ep.ResetConsecutive()
		d.logger.LogAttrs(context.Background(), slog.LevelWarn, "outlier ejection refused: max ejection percent reached",
			slog.String("endpoint", ep.Addr()), slog.String("reason", reason),
			slog.Int("ejected", ejected), slog.Int("endpoints", len(eps)))
		return
	}
	took := d.ejectionTime(ep.Ejections() + 1)
	ep.Eject(now.Add(took))
	d.set.Rebuild(now)
	d.logger.LogAttrs(context.Background(), slog.LevelWarn, "outlier ejected",
		slog.String("endpoint", ep.Addr()), slog.String("reason", reason),
		slog.Duration("for", took), slog.Int("ejections", ep.Ejections()))
	d.Kick()
}

// mayEject reports whether one more of total endpoints may be ejected when
// ejected already are.
func (d *Detector) mayEject(ejected, total int) bool {
	p := d.cfg.MaxEjectionPercent
	if p <= 0 {
		return false
	}
	return ejected == 0 || (ejected+1)*100 <= p*total
}

// ejectionTime is min(BaseEjectionTime × n, MaxEjectionTime), without
// overflowing for large n.
func (d *Detector) ejectionTime(n int) time.Duration {
	base, limit := d.cfg.BaseEjectionTime, d.cfg.MaxEjectionTime
	if limit <= 0 {
		limit = 1<<63 - 1
	}
	if base <= 0 {
		return 0
	}
	if time.Duration(n) > limit/base {
		return limit
	}
	return base * time.Duration(n)
}
