// Package outlier ejects misbehaving endpoints from load balancing based on
// the outcomes of real requests (passive health checking).
//
// The proxy calls Detector.Observe right after Endpoint.End. When an
// endpoint's consecutive 5xx (including resets and timeouts) or consecutive
// connect failures reach their threshold, it is ejected for
// min(BaseEjectionTime × ejections, MaxEjectionTime), where ejections counts
// this one. Detector.Run brings endpoints back when their time is up, ticks
// the slow-start ramp while any endpoint is warming, and forgives one past
// ejection per Interval an endpoint spends in service without a failure, so
// an endpoint that recovered for good sheds its long ejection times.
//
// Ejection is capped by MaxEjectionPercent of the set's endpoints; when the
// percent is above zero at least one endpoint may always be ejected, even in
// a set too small for the percent to allow one (one of two endpoints at 10%).
// A percent of zero disables ejection. An ejection the cap refuses resets the
// endpoint's consecutive counters, so it is considered again only after
// another full streak of failures.
package outlier

import (
	"log/slog"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
)

// DefaultInterval is the sweep interval used when Config.Interval is zero.
const DefaultInterval = 10 * time.Second

// warmTick is how often Run rebuilds the picker while an endpoint is in its
// slow-start window, so its weight ramps up in steps of at most a second.
const warmTick = time.Second

// Config is one service's outlier-detection settings.
type Config struct {
	// Consecutive5xx ejects an endpoint after this many 5xx, reset or
	// timeout outcomes in a row; zero disables this trigger.
	Consecutive5xx int
	// ConsecutiveConnectFailures ejects an endpoint after this many connect
	// failures in a row; zero disables this trigger.
	ConsecutiveConnectFailures int
	// BaseEjectionTime is multiplied by the endpoint's ejection count.
	BaseEjectionTime time.Duration
	// MaxEjectionTime caps the ejection time; zero means no cap.
	MaxEjectionTime time.Duration
	// MaxEjectionPercent caps the share of the set's endpoints ejected at
	// once (at least one is always allowed when above zero); zero disables
	// ejection.
	MaxEjectionPercent int
	// Interval is how often ejections are forgiven; zero means
	// DefaultInterval.
	Interval time.Duration
}

// Detector is the outlier detection of one service's endpoint set. Observe
// is safe for concurrent use from request goroutines; Run is called once.
type Detector struct {
	cfg    Config
	set    *balancer.Set
	logger *slog.Logger
	// wake tells Run that an ejection or outside change happened, so it
	// re-plans its next wake-up.
	wake chan struct{}

	// mu serializes ejections so two concurrent ones cannot both pass the
	// MaxEjectionPercent check. The Observe fast path never takes it.
	mu sync.Mutex
}

// NewDetector returns a detector for set. A nil logger discards logs.
func NewDetector(cfg Config, set *balancer.Set, logger *slog.Logger) *Detector {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Detector{cfg: cfg, set: set, logger: logger, wake: make(chan struct{}, 1)}
}

// Observe checks ep's consecutive-failure counters after a request ended at
// now and ejects it when a threshold is reached. When nothing trips it costs
// two atomic loads.
func (d *Detector) Observe(ep *balancer.Endpoint, now time.Time) {
	if !d.tripped(ep) {
		return
	}
	d.eject(ep, now)
}

func (d *Detector) tripped(ep *balancer.Endpoint) bool {
	n5, nc := d.cfg.Consecutive5xx, d.cfg.ConsecutiveConnectFailures
	return (n5 > 0 && ep.Consecutive5xx() >= n5) || (nc > 0 && ep.ConsecutiveConnectFailures() >= nc)
}

// Kick asks Run to rebuild the picker and re-plan its wake-ups now. Call it
// after changing endpoint state outside the detector (an active health check
// bringing an endpoint back starts its slow start). It never blocks.
func (d *Detector) Kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Ejected is the number of the set's endpoints ejected right now.
func (d *Detector) Ejected() int {
	return countEjected(d.set.Endpoints(), time.Now())
}

func countEjected(eps []*balancer.Endpoint, now time.Time) int {
	n := 0
	for _, e := range eps {
		if e.Ejected(now) {
			n++
		}
	}
	return n
}
