// Package weightedroundrobin is the weighted_round_robin balancer: endpoints
// in turn, each as often as its weight, smoothly interleaved.
//
// Build precomputes one cycle of the schedule; Pick is one atomic add and an
// index into it, so the request path takes no lock (unlike a heap-based
// scheduler that mutates on every pick).
package weightedroundrobin

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/pylon-mesh/pylon/balancer"
)

// Name is the name weighted_round_robin is registered under.
const Name = "weighted_round_robin"

func init() { balancer.Register(Builder{}) }

// Builder builds weighted round-robin pickers.
type Builder struct{}

var _ balancer.Builder = Builder{}

// Name returns Name.
func (Builder) Name() string { return Name }

// Build returns a picker that repeats one schedule cycle in which every
// endpoint appears in proportion to its weight (see slots), starting at a
// random place in the cycle so that frequent rebuilds do not favour its head.
func (Builder) Build(eps []balancer.Weighted) balancer.Picker {
	p := &picker{eps: make([]*balancer.Endpoint, len(eps))}
	for i, w := range eps {
		p.eps[i] = w.Endpoint
	}
	p.seq = schedule(slots(eps))
	p.next.Store(rand.Uint64N(uint64(len(p.seq))))
	return p
}

// picker is immutable apart from its counter; safe for concurrent use.
type picker struct {
	next atomic.Uint64
	eps  []*balancer.Endpoint
	// seq is one cycle of the schedule: indexes into eps.
	seq []uint32
}

func (p *picker) Pick(uint64) (*balancer.Endpoint, error) {
	n := p.next.Add(1) - 1
	return p.eps[p.seq[n%uint64(len(p.seq))]], nil
}
