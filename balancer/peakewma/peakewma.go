// Package peakewma is the peak_ewma balancer: the power of two choices over
// a latency-aware cost, as in Finagle and Linkerd. Each pick draws two
// distinct endpoints and takes the cheaper, where
//
//	cost = latency × (in-flight + 1) / weight
//
// and latency is the endpoint's peak-EWMA estimate (balancer.Endpoint
// DecayedLatency): a slow response raises it at once, fast ones bring it
// down over about ten seconds, and it decays while the endpoint is idle so
// that an endpoint slow once is probed again.
//
// An endpoint with no latency samples yet is costed with the latency of the
// endpoint it is compared with, so the comparison falls to in-flight and
// weight alone: a new endpoint is neither avoided (it would never get the
// sample that prices it) nor flooded (a zero cost would win every draw until
// its first response came back). When neither has samples both are costed
// at defaultLatency, which likewise leaves the decision to load.
package peakewma

import (
	"time"

	"github.com/pylon-mesh/pylon/balancer"
)

// Name is the name peak_ewma is registered under.
const Name = "peak_ewma"

// defaultLatency prices two endpoints that both lack samples. Its value only
// matters for being the same on both sides.
const defaultLatency = time.Millisecond

func init() { balancer.Register(Builder{}) }

// Builder builds peak-EWMA pickers.
type Builder struct{}

var _ balancer.Builder = Builder{}

// Name returns Name.
func (Builder) Name() string { return Name }

// Build returns a picker over eps.
func (Builder) Build(eps []balancer.Weighted) balancer.Picker {
	return &picker{balancer.NewTwoChoices(eps)}
}

// picker is immutable; safe for concurrent use.
type picker struct {
	balancer.TwoChoices
}

func (p *picker) Pick(uint64) (*balancer.Endpoint, error) {
	if len(p.Endpoints) == 1 {
		return p.Endpoints[0], nil
	}
	i, j := p.Draw()
	now := time.Now()
	li, lj := p.Endpoints[i].DecayedLatency(now), p.Endpoints[j].DecayedLatency(now)
	switch {
	case li == 0 && lj == 0:
		li, lj = defaultLatency, defaultLatency
	case li == 0:
		li = lj
	case lj == 0:
		lj = li
	}
	if p.cost(j, lj) < p.cost(i, li) {
		i = j
	}
	return p.Endpoints[i], nil
}

func (p *picker) cost(i int, latency time.Duration) float64 {
	return float64(latency) * float64(p.Endpoints[i].InFlight()+1) * p.InvWeight[i]
}
