package lifecycle

import "time"

// Instance health states in the registry (package registry).
const stateHealthy = "healthy"

// minStartGrace is the least time a new instance has to become healthy:
// `go run` compiles before the app listens.
const minStartGrace = 2 * time.Minute

// healthTrack follows one instance's health as its sidecar reports it to
// the registry, to decide when the instance must be replaced.
type healthTrack struct {
	started      time.Time // when its app last started
	ever         bool      // healthy at least once since
	failingSince time.Time // zero while healthy
}

// restarted starts the track again for an app that (re)started at now.
func (h *healthTrack) restarted(now time.Time) { *h = healthTrack{started: now} }

// observe records state ("healthy", "unhealthy", "unknown", or "" for an
// instance not registered) seen at now, and reports why the instance must
// be replaced, or "": it was healthy and has not been for replaceAfter, or
// it never became healthy in the start grace (three times replaceAfter,
// at least two minutes).
func (h *healthTrack) observe(state string, now time.Time, replaceAfter time.Duration) string {
	if state == stateHealthy {
		h.ever, h.failingSince = true, time.Time{}
		return ""
	}
	if !h.ever {
		if grace := max(3*replaceAfter, minStartGrace); now.Sub(h.started) >= grace {
			return "not healthy " + grace.String() + " after it started"
		}
		return ""
	}
	if h.failingSince.IsZero() {
		h.failingSince = now
	}
	if d := now.Sub(h.failingSince); d >= replaceAfter {
		return "failing its health checks for " + d.Round(time.Second).String()
	}
	return ""
}
