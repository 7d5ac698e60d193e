package weightedroundrobin

import (
	"cmp"
	"math"
	"slices"

	"github.com/pylon-mesh/pylon/balancer"
)

const (
	// quantum turns weights into whole slots: ×100 keeps a slow-start ramp
	// (10% to 100% of the weight) to 1% steps.
	quantum = 100
	// maxCycle bounds the schedule length, and so its memory (4 bytes a
	// slot), when weights share no useful common factor.
	maxCycle = 1 << 15
)

// slots returns how many times each endpoint appears in one cycle: its
// weight in hundredths, reduced by the common divisor, scaled down to fit
// maxCycle, and at least 1.
func slots(eps []balancer.Weighted) []uint64 {
	n := make([]uint64, len(eps))
	var g, sum uint64
	for i, w := range eps {
		q := math.Round(w.Weight * quantum)
		if !(q >= 1) { // also catches NaN
			q = 1
		}
		n[i] = uint64(min(q, maxCycle*quantum))
		g = gcd(g, n[i])
	}
	for i := range n {
		n[i] /= g
		sum += n[i]
	}
	if sum > maxCycle && sum > uint64(len(n)) {
		for i := range n {
			n[i] = max(1, n[i]*maxCycle/sum)
		}
	}
	return n
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// event is one slot of an endpoint placed on the cycle's time line.
type event struct {
	at float64
	ep uint32
}

// schedule lays out one cycle. Endpoint i's k-th of n[i] slots happens at
// (k + φi)/n[i] of the cycle, with a phase φi = (i+½)/len(n) in [0,1): each
// endpoint takes exactly one slot in every 1/n[i] of the cycle, so any
// stretch of the sequence is within one pick of its exact share, and the
// phases spread endpoints of equal weight apart (A B C A B C, never
// A A B B C C). Sorting the events by time gives the sequence.
func schedule(n []uint64) []uint32 {
	var total uint64
	for _, c := range n {
		total += c
	}
	evs := make([]event, 0, total)
	for i, c := range n {
		phase := (float64(i) + 0.5) / float64(len(n))
		for k := range c {
			evs = append(evs, event{at: (float64(k) + phase) / float64(c), ep: uint32(i)})
		}
	}
	slices.SortFunc(evs, func(a, b event) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.ep, b.ep))
	})
	seq := make([]uint32, len(evs))
	for i, e := range evs {
		seq[i] = e.ep
	}
	return seq
}
