package outlier

import (
	"context"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
)

// Run keeps the set's picker current until ctx is done: it rebuilds when an
// ejection ends, every second while an endpoint is warming up, and every
// Interval, when it also forgives ejections. Call it once, on its own
// goroutine; it returns when ctx is done.
func (d *Detector) Run(ctx context.Context) {
	s := sweeper{d: d, seen: map[*balancer.Endpoint]uint64{}}
	now := time.Now()
	s.remember(now)
	nextSweep := now.Add(d.cfg.Interval)
	warming := d.set.Rebuild(now)
	timer := time.NewTimer(d.nextWake(now, nextSweep, warming))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-d.wake:
		}
		now = time.Now()
		if !now.Before(nextSweep) {
			s.forgive(now)
			nextSweep = now.Add(d.cfg.Interval)
		}
		warming = d.set.Rebuild(now)
		timer.Reset(d.nextWake(now, nextSweep, warming))
	}
}

// nextWake is how long Run sleeps: until the next sweep, the end of the
// earliest ejection, or the next slow-start tick, whichever comes first.
func (d *Detector) nextWake(now, nextSweep time.Time, warming bool) time.Duration {
	next := nextSweep
	if warming && now.Add(warmTick).Before(next) {
		next = now.Add(warmTick)
	}
	for _, e := range d.set.Endpoints() {
		if u := e.EjectedUntil(); u.After(now) && u.Before(next) {
			next = u
		}
	}
	return next.Sub(now)
}

// sweeper is Run's memory between sweeps: each endpoint's failure count at
// the last sweep, and when that sweep was.
type sweeper struct {
	d         *Detector
	seen      map[*balancer.Endpoint]uint64
	lastSweep time.Time
}

func (s *sweeper) remember(now time.Time) {
	clear(s.seen)
	for _, e := range s.d.set.Endpoints() {
		s.seen[e] = e.Failures()
	}
	s.lastSweep = now
}

// forgive takes one ejection off every endpoint that was in service for the
// whole interval since the last sweep with no failed request.
func (s *sweeper) forgive(now time.Time) {
	s.d.mu.Lock()
	for _, e := range s.d.set.Endpoints() {
		failures, known := s.seen[e]
		inService := !e.EjectedUntil().After(s.lastSweep)
		if known && inService && e.Failures() == failures && e.Ejections() > 0 {
			e.ForgiveEjection()
		}
	}
	s.d.mu.Unlock()
	s.remember(now)
}
