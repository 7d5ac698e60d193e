// Package roundrobin is the round_robin balancer: each request goes to the
// next endpoint in turn, whatever the weights. Pick is one atomic add.
package roundrobin

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/pylon-mesh/pylon/balancer"
)

// Name is the name round_robin is registered under.
const Name = "round_robin"

func init() { balancer.Register(Builder{}) }

// Builder builds round-robin pickers.
type Builder struct{}

var _ balancer.Builder = Builder{}

// Name returns Name.
func (Builder) Name() string { return Name }

// Build returns a picker that cycles through eps in order, starting at a
// random one: the set rebuilds its picker on every health change and every
// slow-start tick, and starting at the first endpoint each time would send
// it more than its share.
func (Builder) Build(eps []balancer.Weighted) balancer.Picker {
	p := &picker{eps: make([]*balancer.Endpoint, len(eps))}
	for i, w := range eps {
		p.eps[i] = w.Endpoint
	}
	p.next.Store(rand.Uint64N(uint64(len(eps))))
	return p
}

// picker is immutable apart from its counter; safe for concurrent use.
type picker struct {
	next atomic.Uint64
	eps  []*balancer.Endpoint
}

func (p *picker) Pick(uint64) (*balancer.Endpoint, error) {
	n := p.next.Add(1) - 1
	return p.eps[n%uint64(len(p.eps))], nil
}
