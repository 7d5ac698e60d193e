// Package leastrequest is the least_request balancer: the power of two
// choices. Each pick draws two distinct endpoints at random and takes the one
// with fewer requests in flight for its weight. It follows load closely
// without a global scan and without herding every gateway onto the single
// least loaded endpoint.
package leastrequest

import (
	"math/rand/v2"

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
	p := &picker{eps: make([]*balancer.Endpoint, len(eps)), inv: make([]float64, len(eps))}
	for i, w := range eps {
		p.eps[i] = w.Endpoint
		p.inv[i] = 1 / max(w.Weight, minWeight)
	}
	return p
}

// minWeight stands in for weights that are not positive.
const minWeight = 1e-3

// picker is immutable; safe for concurrent use.
type picker struct {
	eps []*balancer.Endpoint
	// inv holds 1/weight, so cost is a multiplication.
	inv []float64
}

func (p *picker) Pick(uint64) (*balancer.Endpoint, error) {
	if len(p.eps) == 1 {
		return p.eps[0], nil
	}
	i, j := twoDistinct(len(p.eps))
	if p.cost(j) < p.cost(i) {
		i = j
	}
	return p.eps[i], nil
}

func (p *picker) cost(i int) float64 {
	return float64(p.eps[i].InFlight()+1) * p.inv[i]
}

// twoDistinct returns two different random indexes below n (n ≥ 2), in
// random order, so a tie goes to either one evenly.
func twoDistinct(n int) (int, int) {
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	return i, j
}
