package balancer

import (
	"math"
	"sync/atomic"
	"time"
)

// Outcome is what happened to one request sent to an endpoint. The proxy
// reports it through Endpoint.End; outlier detection and the load-aware
// pickers read the counters it updates.
type Outcome uint8

// Outcomes, from the proxy's point of view.
const (
	// Success is any response that is not a 5xx.
	Success Outcome = iota
	// ServerError is a 5xx response from the upstream.
	ServerError
	// ConnectFailure is a failed dial (refused, unreachable, TLS handshake).
	ConnectFailure
	// Reset is a connection lost or a protocol error after the request was sent.
	Reset
	// Timeout is a request that ran out of time waiting for the upstream.
	Timeout
)

// ewmaDecay is the time constant of the peak-EWMA latency estimate.
const ewmaDecay = 10 * time.Second

// Endpoint is one upstream address of a service with its live statistics.
//
// An Endpoint outlives config reloads: the data plane keeps one per
// (service, address) so that health, ejection and load survive a swap.
// All methods are safe for concurrent use and never block or allocate.
type Endpoint struct {
	addr   string
	weight uint32

	inflight atomic.Int64
	requests atomic.Uint64
	failures atomic.Uint64

	// ewmaNanos holds the peak-EWMA latency as float64 bits; ewmaStamp the
	// unix-nano time of the last update.
	ewmaNanos atomic.Uint64
	ewmaStamp atomic.Int64

	// unhealthy is set by the active health checker.
	unhealthy atomic.Bool
	// ejectedUntil is the unix-nano time an outlier ejection ends (0: none).
	ejectedUntil atomic.Int64
	ejections    atomic.Int32
	// warmSince is the unix-nano time the endpoint (re)entered service; the
	// slow-start ramp is measured from it.
	warmSince atomic.Int64

	consecutive5xx     atomic.Int32
	consecutiveConnErr atomic.Int32
}

// NewEndpoint returns an endpoint for addr (host:port) with the given
// weight; a weight below 1 counts as 1.
func NewEndpoint(addr string, weight int) *Endpoint {
	if weight < 1 {
		weight = 1
	}
	return &Endpoint{addr: addr, weight: uint32(weight)}
}

// Addr is the endpoint's host:port.
func (e *Endpoint) Addr() string { return e.addr }

// Weight is the configured weight (at least 1).
func (e *Endpoint) Weight() int { return int(e.weight) }

// Begin records the start of a request to the endpoint.
func (e *Endpoint) Begin() { e.inflight.Add(1) }

// End records the end, at now, of a request that Begin started, with its
// outcome and how long it took.
func (e *Endpoint) End(o Outcome, took time.Duration, now time.Time) {
	e.inflight.Add(-1)
	e.requests.Add(1)
	e.observeLatency(took, now)
	switch o {
	case Success:
		// Both CPUs end requests on the same endpoint: reading a counter
		// that is already 0 leaves its cache line shared, storing 0 again
		// would bounce it between them on every request.
		if e.consecutive5xx.Load() != 0 {
			e.consecutive5xx.Store(0)
		}
		if e.consecutiveConnErr.Load() != 0 {
			e.consecutiveConnErr.Store(0)
		}
	case ServerError, Reset, Timeout:
		e.failures.Add(1)
		e.consecutive5xx.Add(1)
	case ConnectFailure:
		e.failures.Add(1)
		e.consecutiveConnErr.Add(1)
	}
}

// Cancel ends a request that Begin started without judging the endpoint:
// the request failed on the client's side or never left pylon, so neither
// its latency nor its outcome says anything about the endpoint.
func (e *Endpoint) Cancel() { e.inflight.Add(-1) }

// observeLatency folds took into the peak-EWMA estimate: a sample above the
// estimate replaces it at once (peak), a lower one decays in with time.
func (e *Endpoint) observeLatency(took time.Duration, at time.Time) {
	now := at.UnixNano()
	sample := float64(took)
	for {
		oldBits := e.ewmaNanos.Load()
		old := math.Float64frombits(oldBits)
		stamp := e.ewmaStamp.Load()
		next := sample
		if old != 0 && sample < old {
			dt := float64(now - stamp)
			if dt < 0 {
				dt = 0
			}
			w := math.Exp(-dt / float64(ewmaDecay))
			next = old*w + sample*(1-w)
		}
		if e.ewmaNanos.CompareAndSwap(oldBits, math.Float64bits(next)) {
			e.ewmaStamp.Store(now)
			return
		}
	}
}

// InFlight is the number of requests sent and not yet ended.
func (e *Endpoint) InFlight() int64 { return e.inflight.Load() }

// Requests is the number of requests ended since the endpoint was created.
func (e *Endpoint) Requests() uint64 { return e.requests.Load() }

// Failures is the number of requests that ended in anything but Success.
func (e *Endpoint) Failures() uint64 { return e.failures.Load() }

// Latency is the current peak-EWMA latency estimate (0 before any request).
func (e *Endpoint) Latency() time.Duration {
	return time.Duration(math.Float64frombits(e.ewmaNanos.Load()))
}

// DecayedLatency is the peak-EWMA estimate decayed toward zero for the time
// since the last sample, as Finagle's and Linkerd's peak EWMA read it: an
// endpoint that was slow once and then got no traffic is tried again after a
// few decay periods instead of being starved for good. It is 0 before any
// request, and again after hours without one.
func (e *Endpoint) DecayedLatency(now time.Time) time.Duration {
	v := math.Float64frombits(e.ewmaNanos.Load())
	dt := now.UnixNano() - e.ewmaStamp.Load()
	if v == 0 || dt <= 0 {
		return time.Duration(v)
	}
	return time.Duration(v * math.Exp(-float64(dt)/float64(ewmaDecay)))
}

// Consecutive5xx is the number of 5xx, reset or timeout outcomes since the
// last success.
func (e *Endpoint) Consecutive5xx() int { return int(e.consecutive5xx.Load()) }

// ConsecutiveConnectFailures is the number of connect failures since the last
// success.
func (e *Endpoint) ConsecutiveConnectFailures() int { return int(e.consecutiveConnErr.Load()) }

// ResetConsecutive clears both consecutive-failure counters (after an
// ejection, so the endpoint starts fresh when it returns).
func (e *Endpoint) ResetConsecutive() {
	e.consecutive5xx.Store(0)
	e.consecutiveConnErr.Store(0)
}

// SetHealthy records the active health checker's verdict. A transition from
// unhealthy to healthy starts the slow-start ramp. It reports whether the
// state changed.
func (e *Endpoint) SetHealthy(ok bool, now time.Time) bool {
	changed := e.unhealthy.Swap(!ok) == ok
	if changed && ok {
		e.warmSince.Store(now.UnixNano())
	}
	return changed
}

// Healthy reports the active health checker's last verdict (true until a
// checker says otherwise).
func (e *Endpoint) Healthy() bool { return !e.unhealthy.Load() }

// Eject takes the endpoint out of balancing until the given time and counts
// the ejection; the slow-start ramp begins when the ejection ends.
func (e *Endpoint) Eject(until time.Time) {
	e.ejections.Add(1)
	e.ejectedUntil.Store(until.UnixNano())
	e.warmSince.Store(until.UnixNano())
	e.ResetConsecutive()
}

// Ejected reports whether an outlier ejection is in force at now.
func (e *Endpoint) Ejected(now time.Time) bool {
	return now.UnixNano() < e.ejectedUntil.Load()
}

// EjectedUntil is when the current or last ejection ends (zero if never
// ejected).
func (e *Endpoint) EjectedUntil() time.Time {
	n := e.ejectedUntil.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Ejections is how many times the endpoint has been ejected. Outlier
// detection multiplies the base ejection time by it.
func (e *Endpoint) Ejections() int { return int(e.ejections.Load()) }

// ForgiveEjection decrements the ejection count (after a long healthy
// stretch), never below zero.
func (e *Endpoint) ForgiveEjection() {
	for {
		n := e.ejections.Load()
		if n <= 0 || e.ejections.CompareAndSwap(n, n-1) {
			return
		}
	}
}

// Available reports whether the endpoint may take traffic at now: healthy and
// not ejected.
func (e *Endpoint) Available(now time.Time) bool {
	return e.Healthy() && !e.Ejected(now)
}

// StartWarming starts the slow-start ramp at now, as for a new endpoint.
func (e *Endpoint) StartWarming(now time.Time) { e.warmSince.Store(now.UnixNano()) }

// EffectiveWeight is the weight scaled by the slow-start ramp: it grows
// linearly from 10% to 100% of Weight over window after the endpoint
// (re)entered service. A zero window means no ramp.
func (e *Endpoint) EffectiveWeight(now time.Time, window time.Duration) float64 {
	w := float64(e.weight)
	if window <= 0 {
		return w
	}
	since := time.Duration(now.UnixNano() - e.warmSince.Load())
	if e.warmSince.Load() == 0 || since >= window {
		return w
	}
	if since < 0 {
		since = 0
	}
	f := 0.1 + 0.9*float64(since)/float64(window)
	return w * f
}

// Warming reports whether the endpoint is inside its slow-start window.
func (e *Endpoint) Warming(now time.Time, window time.Duration) bool {
	s := e.warmSince.Load()
	return window > 0 && s != 0 && now.UnixNano()-s < int64(window) && now.UnixNano() >= s
}
