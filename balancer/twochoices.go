package balancer

import "math/rand/v2"

// TwoChoices is the shared state of the power-of-two-choices pickers
// (least_request, peak_ewma): the endpoints and their inverse weights, and
// a way to draw two distinct ones at random. It is immutable after
// NewTwoChoices and safe for concurrent use.
type TwoChoices struct {
	Endpoints []*Endpoint
	// InvWeight holds 1/weight per endpoint, so a cost scaled by weight is
	// a multiplication.
	InvWeight []float64
}

// minWeight stands in for weights that are not positive.
const minWeight = 1e-3

// NewTwoChoices prepares eps for two-choice picking.
func NewTwoChoices(eps []Weighted) TwoChoices {
	t := TwoChoices{Endpoints: make([]*Endpoint, len(eps)), InvWeight: make([]float64, len(eps))}
	for i, w := range eps {
		t.Endpoints[i] = w.Endpoint
		t.InvWeight[i] = 1 / max(w.Weight, minWeight)
	}
	return t
}

// Draw returns the indexes of two distinct endpoints chosen uniformly at
// random. There must be at least two.
func (t TwoChoices) Draw() (i, j int) {
	n := len(t.Endpoints)
	i = rand.IntN(n)
	j = rand.IntN(n - 1)
	if j >= i {
		j++
	}
	return i, j
}
