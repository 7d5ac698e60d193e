// Package random is the random balancer: each request goes to an endpoint
// drawn at random in proportion to its weight. It needs no shared state at
// all, which makes it a good default for many gateways in front of many
// endpoints.
package random

import (
	"math"
	"math/rand/v2"

	"github.com/pylon-mesh/pylon/balancer"
)

// Name is the name random is registered under.
const Name = "random"

func init() { balancer.Register(Builder{}) }

// Builder builds weighted random pickers.
type Builder struct{}

var _ balancer.Builder = Builder{}

// Name returns Name.
func (Builder) Name() string { return Name }

// Build returns a picker that draws endpoint i with probability
// weight(i)/sum(weights). Weights that are not positive count as 0, unless
// all are, and then every endpoint is equally likely.
func (Builder) Build(eps []balancer.Weighted) balancer.Picker {
	p := &picker{eps: make([]*balancer.Endpoint, len(eps))}
	cum := make([]float64, len(eps))
	var total float64
	equal := true
	for i, w := range eps {
		p.eps[i] = w.Endpoint
		if w.Weight > 0 && !math.IsInf(w.Weight, 1) {
			total += w.Weight
		}
		cum[i] = total
		equal = equal && w.Weight == eps[0].Weight
	}
	if !equal && total > 0 {
		p.cum = cum
	}
	return p
}

// picker is immutable; safe for concurrent use. The math/rand/v2 top-level
// functions it calls are lock-free per goroutine.
type picker struct {
	eps []*balancer.Endpoint
	// cum holds the running sums of the weights; nil when all are equal.
	cum []float64
}

func (p *picker) Pick(uint64) (*balancer.Endpoint, error) {
	if p.cum == nil {
		return p.eps[rand.IntN(len(p.eps))], nil
	}
	x := rand.Float64() * p.cum[len(p.cum)-1]
	// Binary search for the first running sum above x; x < the total, so
	// it exists. Written out because sort.Search's closure may allocate.
	lo, hi := 0, len(p.cum)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return p.eps[lo], nil
}
