package balancer

import (
	"sync"
	"sync/atomic"
	"time"
)

// Set is the endpoints of one service and the picker currently in force
// over them. Pick is the request path: one atomic load and the picker's Pick.
// Rebuild is the slow path, called when health, ejection or slow-start state
// changes; it is serialized by a mutex the request path never touches.
type Set struct {
	builder Builder
	// panicPercent: when fewer than this share of endpoints are available,
	// balance over all of them (0 disables).
	panicPercent int
	slowStart    time.Duration

	mu        sync.Mutex
	endpoints []*Endpoint

	picker atomic.Pointer[pickerState]
}

type pickerState struct {
	p         Picker
	available int
	panic     bool
}

// NewSet returns a set balancing eps with b. panicPercent is the panic
// threshold in percent; slowStart the slow-start window (0 for none).
func NewSet(b Builder, eps []*Endpoint, panicPercent int, slowStart time.Duration) *Set {
	s := &Set{builder: b, panicPercent: panicPercent, slowStart: slowStart}
	s.endpoints = append([]*Endpoint(nil), eps...)
	s.Rebuild(time.Now())
	return s
}

// Pick returns the endpoint for a request with the given affinity hash.
func (s *Set) Pick(hash uint64) (*Endpoint, error) {
	st := s.picker.Load()
	if st.p == nil {
		return nil, ErrNoEndpoint
	}
	return st.p.Pick(hash)
}

// Endpoints returns the set's endpoints. The slice must not be modified.
func (s *Set) Endpoints() []*Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoints
}

// SetEndpoints replaces the endpoint list (after DNS re-resolution) and
// rebuilds the picker.
func (s *Set) SetEndpoints(eps []*Endpoint, now time.Time) {
	s.mu.Lock()
	s.endpoints = append([]*Endpoint(nil), eps...)
	s.mu.Unlock()
	s.Rebuild(now)
}

// SlowStart is the slow-start window the set applies.
func (s *Set) SlowStart() time.Duration { return s.slowStart }

// Panicking reports whether the last rebuild fell under the panic threshold
// and is balancing over every endpoint regardless of health.
func (s *Set) Panicking() bool { return s.picker.Load().panic }

// Available is the number of endpoints the last rebuild found able to take
// traffic.
func (s *Set) Available() int { return s.picker.Load().available }

// Rebuild builds a new picker from the endpoints' current state and swaps it
// in. It reports whether any endpoint is still warming up, so the caller
// knows to call again soon.
func (s *Set) Rebuild(now time.Time) (warming bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	avail := make([]Weighted, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		if e.Available(now) {
			avail = append(avail, Weighted{Endpoint: e, Weight: e.EffectiveWeight(now, s.slowStart)})
			warming = warming || e.Warming(now, s.slowStart)
		}
	}
	st := &pickerState{available: len(avail)}
	total := len(s.endpoints)
	if total > 0 && len(avail)*100 < s.panicPercent*total {
		// Too few healthy endpoints: spreading load over all of them beats
		// crushing the few that are left.
		st.panic = true
		avail = avail[:0]
		for _, e := range s.endpoints {
			avail = append(avail, Weighted{Endpoint: e, Weight: float64(e.Weight())})
		}
	}
	if len(avail) > 0 {
		st.p = s.builder.Build(avail)
	}
	s.picker.Store(st)
	return warming
}
