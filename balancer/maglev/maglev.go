// Package maglev is the maglev balancer: consistent hashing with Google's
// Maglev lookup table (Eisenbud et al., NSDI 2016). Build fills a table of
// prime size M with endpoint indexes, each endpoint claiming slots along its
// own permutation of the table in turn, as often as its weight allows; Pick
// is table[hash % M]. Shares track weights closely, Pick is O(1), and
// removing one of N endpoints remaps a little over 1/N of the keys.
//
// A request without a key (hash 0) goes to a random slot, which is a
// weighted random pick.
package maglev

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/pylon-mesh/pylon/balancer"
)

// Name is the name maglev is registered under.
const Name = "maglev"

// TableSize is the lookup table size M: prime, and much larger than the
// number of endpoints (the paper asks for M ≫ N; beyond a few hundred
// endpoints shares drift from weights). The table takes 4 bytes a slot.
const TableSize = 65537

func init() { balancer.Register(Builder{}) }

// Builder builds Maglev pickers.
type Builder struct{}

var _ balancer.Builder = Builder{}

// Name returns Name.
func (Builder) Name() string { return Name }

// Build fills the lookup table for eps. Endpoints are taken in address order,
// so every gateway builds the same table whatever order it was given them in.
func (Builder) Build(eps []balancer.Weighted) balancer.Picker {
	sorted := slices.Clone(eps)
	slices.SortStableFunc(sorted, func(a, b balancer.Weighted) int {
		return cmp.Compare(a.Endpoint.Addr(), b.Endpoint.Addr())
	})
	p := &picker{table: populate(sorted, TableSize), eps: make([]*balancer.Endpoint, len(sorted))}
	for i, w := range sorted {
		p.eps[i] = w.Endpoint
	}
	return p
}

// picker is immutable; safe for concurrent use.
type picker struct {
	// table holds indexes into eps.
	table []uint32
	eps   []*balancer.Endpoint
}

func (p *picker) Pick(hash uint64) (*balancer.Endpoint, error) {
	if hash == 0 {
		hash = rand.Uint64()
	}
	return p.eps[p.table[hash%uint64(len(p.table))]], nil
}

// permutation is one endpoint's walk over the table: slot
// (offset + skip·next) mod M, with skip never 0, visits every slot once
// because M is prime.
type permutation struct {
	offset, skip, next uint64
	// weight is the endpoint's weight over the largest; claimed counts, in
	// units of the largest weight, the slots it has taken.
	weight, claimed float64
}

// populate is the paper's Algorithm 1 with weights as Envoy adds them: in
// round r an endpoint claims its next free slot only if r·weight has caught
// up with what it has claimed, so the heaviest endpoint claims every round
// and one of half its weight every other round.
func populate(eps []balancer.Weighted, m uint64) []uint32 {
	perms := permutations(eps, m)
	const empty = math.MaxUint32
	table := make([]uint32, m)
	for i := range table {
		table[i] = empty
	}
	filled := uint64(0)
	for round := 1.0; filled < m; round++ {
		for i := range perms {
			pm := &perms[i]
			if round*pm.weight < pm.claimed {
				continue
			}
			pm.claimed++
			c := (pm.offset + pm.skip*pm.next) % m
			for table[c] != empty {
				pm.next++
				c = (pm.offset + pm.skip*pm.next) % m
			}
			table[c] = uint32(i)
			pm.next++
			if filled++; filled == m {
				break
			}
		}
	}
	return table
}

// permutations derives each endpoint's walk from two independent hashes of
// its address, and normalises the weights to the largest.
func permutations(eps []balancer.Weighted, m uint64) []permutation {
	perms := make([]permutation, len(eps))
	var top float64
	for i, w := range eps {
		addr := w.Endpoint.Addr()
		perms[i] = permutation{
			offset: xxhash.Sum64String(addr) % m,
			skip:   xxhash.Sum64String("skip/"+addr)%(m-1) + 1,
			weight: weight(w),
		}
		top = max(top, perms[i].weight)
	}
	for i := range perms {
		perms[i].weight /= top
	}
	return perms
}

// weight is w's weight, with weights that are not positive or not finite
// counted as tiny.
func weight(w balancer.Weighted) float64 {
	if !(w.Weight > 0) || math.IsInf(w.Weight, 1) {
		return 1e-3
	}
	return w.Weight
}
