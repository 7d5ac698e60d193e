// Package ringhash is the ring_hash balancer: consistent hashing on a
// ketama-style ring. Every endpoint owns virtual nodes on a 64-bit ring, in
// number proportional to its weight, placed by hashing its address; a request
// goes to the owner of the first node at or after its affinity hash. Removing
// one of N endpoints moves only the keys it owned, about 1/N of them, and
// every gateway builds the same ring from the same endpoints.
//
// A request without a key (hash 0) goes to a random point on the ring, which
// is a weighted random pick.
package ringhash

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/pylon-mesh/pylon/balancer"
)

// Name is the name ring_hash is registered under.
const Name = "ring_hash"

const (
	// nodesPerEndpoint is about the number of virtual nodes of an endpoint
	// of mean weight. It does not depend on how many endpoints there are
	// (up to maxRingSize), so removing an endpoint leaves the others' nodes
	// where they were, and 512 keeps each share within a few percent of
	// its weight's.
	nodesPerEndpoint = 512
	// minRingSize and maxRingSize bound the ring: a single endpoint still
	// gets a full ring, and large sets stay under 768 KiB (12 bytes a
	// node), at the price of fewer nodes each beyond 128 endpoints.
	minRingSize = 1024
	maxRingSize = 1 << 16
)

func init() { balancer.Register(Builder{}) }

// Builder builds ring-hash pickers.
type Builder struct{}

var _ balancer.Builder = Builder{}

// Name returns Name.
func (Builder) Name() string { return Name }

// Build returns a picker over a ring of about nodesPerEndpoint×len(eps)
// virtual nodes (within the ring bounds) shared out by weight, each endpoint
// getting at least one. Node r of an endpoint sits at the hash of "<addr>_<r>", so
// an endpoint whose count changes (slow start) gains or loses nodes only at
// the end of its list and moves only the keys of those nodes.
func (Builder) Build(eps []balancer.Weighted) balancer.Picker {
	var total float64
	for _, w := range eps {
		total += weight(w)
	}
	perWeight := nodesPerWeight(total, len(eps))
	ns := make([]node, 0, int(perWeight*total)+len(eps))
	var key []byte
	for i, w := range eps {
		count := max(1, int(math.Round(weight(w)*perWeight)))
		key = append(append(key[:0], w.Endpoint.Addr()...), '_')
		base := len(key)
		for r := range count {
			key = strconv.AppendInt(key[:base], int64(r), 10)
			ns = append(ns, node{hash: xxhash.Sum64(key), ep: uint32(i)})
		}
	}
	// Ties (two nodes on one point) break by address, not by the order of
	// eps, so that every gateway builds the same ring.
	slices.SortFunc(ns, func(a, b node) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(eps[a.ep].Endpoint.Addr(), eps[b.ep].Endpoint.Addr())
	})
	p := &picker{hashes: make([]uint64, len(ns)), owners: make([]uint32, len(ns)), eps: make([]*balancer.Endpoint, len(eps))}
	for i, n := range ns {
		p.hashes[i], p.owners[i] = n.hash, n.ep
	}
	for i, w := range eps {
		p.eps[i] = w.Endpoint
	}
	return p
}

// nodesPerWeight is how many nodes an endpoint gets per unit of weight:
// nodesPerEndpoint over the mean weight, rounded to a power of two so that
// removing an endpoint or ramping one up rarely changes it (and with it every
// endpoint's nodes), then doubled or halved into the ring bounds.
func nodesPerWeight(total float64, n int) float64 {
	s := math.Exp2(math.Round(math.Log2(nodesPerEndpoint * float64(n) / total)))
	for s*total > maxRingSize {
		s /= 2
	}
	for s*total < minRingSize {
		s *= 2
	}
	return s
}

// weight is w's weight, with weights that are not positive or not finite
// counted as tiny.
func weight(w balancer.Weighted) float64 {
	if !(w.Weight > 0) || math.IsInf(w.Weight, 1) {
		return 1e-3
	}
	return w.Weight
}

// node is one virtual node while the ring is built.
type node struct {
	hash uint64
	ep   uint32
}

// picker is immutable; safe for concurrent use.
type picker struct {
	// hashes are the ring's points, ascending; owners[i] is the index in
	// eps of the endpoint owning hashes[i]. Two slices rather than one of
	// node save the padding.
	hashes []uint64
	owners []uint32
	eps    []*balancer.Endpoint
}

func (p *picker) Pick(hash uint64) (*balancer.Endpoint, error) {
	if hash == 0 {
		hash = rand.Uint64()
	}
	// Binary search for the first point at or after hash, wrapping to the
	// first point past the end. Written out: sort.Search's closure may
	// allocate.
	lo, hi := 0, len(p.hashes)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.hashes[mid] >= hash {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == len(p.hashes) {
		lo = 0
	}
	return p.eps[p.owners[lo]], nil
}
