// Package leastrequest is the least_request balancer: the power of two
// choices. Each pick draws two distinct endpoints at random and takes the one
// with fewer requests in flight for its weight. It follows load closely
// without a global scan and without herding every gateway onto the single
// least loaded endpoint.
package leastrequest

import (
	"github.com/pylon-mesh/pylon/balancer"
)

// Name is the name least_request is registered under.
const Name = "least_request"

func init() { balancer.Register(Builder{}) }

// Builder builds least-request pickers.
type Builder struct{}

var _ balancer.Builder = Builder{}

// Name returns Name.
func (Builder) Name() string { return Name }

// Build returns a picker over eps. An endpoint's cost is (in-flight + 1) /
// weight: the +1 makes weights count when nothing is in flight (an idle
// endpoint of weight 3 beats an idle one of weight 1), and under load it
// keeps in-flight requests proportional to weight.
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
	if p.cost(j) < p.cost(i) {
		i = j
	}
	return p.Endpoints[i], nil
}

func (p *picker) cost(i int) float64 {
	return float64(p.Endpoints[i].InFlight()+1) * p.InvWeight[i]
}
