// Package breaker enforces a service's circuit-breaker thresholds: how many
// connections, pending requests, active requests and active retries the data
// plane may have towards one upstream service at once.
//
// A Breaker is a set of counting semaphores built from atomics; it never
// blocks and never allocates. When a limit is reached Acquire refuses and the
// caller fails fast (503 for requests, no retry for retries) instead of piling
// more work onto a struggling service.
package breaker

import "sync/atomic"

// Kind names one of the four resources a Breaker limits.
type Kind uint8

// The resources a Breaker limits.
const (
	// Connections are open connections to the service's endpoints.
	Connections Kind = iota
	// Pending are requests waiting for a connection.
	Pending
	// Requests are requests in flight to the service.
	Requests
	// Retries are retries in flight to the service.
	Retries

	numKinds
)

// String returns the kind's snake_case name, as used in metric labels.
func (k Kind) String() string {
	switch k {
	case Connections:
		return "connections"
	case Pending:
		return "pending"
	case Requests:
		return "requests"
	case Retries:
		return "retries"
	}
	return "unknown"
}

// Limits are the thresholds of one service. A limit of zero or less means
// no limit.
type Limits struct {
	MaxConnections int64
	MaxPending     int64
	MaxRequests    int64
	MaxRetries     int64
}

// Breaker counts the active use of each resource against its limit. It is
// safe for concurrent use; all methods are lock-free.
type Breaker struct {
	gauges [numKinds]gauge
}

// gauge is one limited counter. The padding keeps counters that different
// cores update on different cache lines.
type gauge struct {
	limit    int64
	active   atomic.Int64
	rejected atomic.Uint64
	_        [40]byte
}

// New returns a breaker enforcing l.
func New(l Limits) *Breaker {
	b := &Breaker{}
	b.gauges[Connections].limit = l.MaxConnections
	b.gauges[Pending].limit = l.MaxPending
	b.gauges[Requests].limit = l.MaxRequests
	b.gauges[Retries].limit = l.MaxRetries
	return b
}

// Acquire takes one unit of k if that stays within its limit. It reports
// whether it did; a refusal is counted in Rejected. Every successful Acquire
// must be paired with one Release.
func (b *Breaker) Acquire(k Kind) bool {
	g := &b.gauges[k]
	if g.limit <= 0 {
		g.active.Add(1)
		return true
	}
	for {
		n := g.active.Load()
		if n >= g.limit {
			g.rejected.Add(1)
			return false
		}
		// A CAS rather than Add-then-check: the count never shows more
		// than the limit, even for an instant.
		if g.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives back one unit of k taken by Acquire.
func (b *Breaker) Release(k Kind) { b.gauges[k].active.Add(-1) }

// Active is the number of units of k held right now.
func (b *Breaker) Active(k Kind) int64 { return b.gauges[k].active.Load() }

// Rejected is the number of Acquire calls for k refused since New.
func (b *Breaker) Rejected(k Kind) uint64 { return b.gauges[k].rejected.Load() }

// Limit is the configured limit for k (zero or less: none).
func (b *Breaker) Limit(k Kind) int64 { return b.gauges[k].limit }

// AcquireRequest is Acquire(Requests).
func (b *Breaker) AcquireRequest() bool { return b.Acquire(Requests) }

// ReleaseRequest is Release(Requests).
func (b *Breaker) ReleaseRequest() { b.Release(Requests) }

// AcquirePending is Acquire(Pending).
func (b *Breaker) AcquirePending() bool { return b.Acquire(Pending) }

// ReleasePending is Release(Pending).
func (b *Breaker) ReleasePending() { b.Release(Pending) }

// AcquireConnection is Acquire(Connections).
func (b *Breaker) AcquireConnection() bool { return b.Acquire(Connections) }

// ReleaseConnection is Release(Connections).
func (b *Breaker) ReleaseConnection() { b.Release(Connections) }

// AcquireRetry is Acquire(Retries).
func (b *Breaker) AcquireRetry() bool { return b.Acquire(Retries) }

// ReleaseRetry is Release(Retries).
func (b *Breaker) ReleaseRetry() { b.Release(Retries) }
