package retry

import (
	"sync/atomic"
	"time"
)

// window is how far back a Budget looks, in one-second buckets.
const window = 10

// Budget allows retries only while they stay a small share of the traffic a
// service has seen over the last ten seconds, so that retries cannot
// multiply the load on a service that is already failing.
//
// Each second, the first minPerSecond retries are always allowed (so a quiet
// service can still retry); beyond those, a retry is allowed while the
// retries so allowed in the window stay within percent% of the original
// requests in the window. A Budget is safe for concurrent use and never
// allocates.
type Budget struct {
	percent      int64
	minPerSecond int64
	requests     [window]bucket
	// retries counts the retries allowed by percent; free counts, for the
	// current second only, those allowed by minPerSecond.
	retries [window]bucket
	free    bucket
}

// bucket counts events in one second. The second and the count share one
// word, so rolling a bucket over to a new second and counting in it is a
// single compare-and-swap, with no reset racing the counting.
type bucket struct{ v atomic.Uint64 }

const countBits = 32

func pack(sec int64, n uint64) uint64 { return uint64(sec)<<countBits | n }

func unpack(v uint64) (sec int64, n uint64) {
	return int64(v >> countBits), v & (1<<countBits - 1)
}

// NewBudget returns a budget allowing retries up to percent% of requests,
// plus minPerSecond retries each second regardless. Negative values count
// as zero.
func NewBudget(percent, minPerSecond int) *Budget {
	return &Budget{percent: int64(max(percent, 0)), minPerSecond: int64(max(minPerSecond, 0))}
}

// Request counts one original request (not a retry) at now.
func (b *Budget) Request(now time.Time) {
	sec := now.Unix()
	b.requests[slot(sec)].add(sec, nil)
}

// TryRetry counts and allows one retry at now, or refuses it. A refused
// retry is not counted.
func (b *Budget) TryRetry(now time.Time) bool {
	sec := now.Unix()
	if b.free.add(sec, func(n uint64) bool { return int64(n) < b.minPerSecond }) {
		return true
	}
	return b.retries[slot(sec)].add(sec, func(uint64) bool {
		// The retry being asked for counts: after it, retries must still be
		// within percent% of requests.
		return (int64(sum(&b.retries, sec))+1)*100 <= int64(sum(&b.requests, sec))*b.percent
	})
}

func slot(sec int64) int {
	s := sec % window
	if s < 0 {
		s += window
	}
	return int(s)
}

// add counts one event in second sec if allow (nil: always) agrees, given
// the count already in that second. The compare-and-swap on the bucket makes
// concurrent TryRetry calls see each other: none can slip past the budget.
func (bk *bucket) add(sec int64, allow func(current uint64) bool) bool {
	for {
		old := bk.v.Load()
		s, n := unpack(old)
		if s != sec {
			n = 0
		}
		if allow != nil && !allow(n) {
			return false
		}
		if bk.v.CompareAndSwap(old, pack(sec, n+1)) {
			return true
		}
	}
}

// sum counts the events in the window that ends with second sec.
func sum(bs *[window]bucket, sec int64) uint64 {
	var total uint64
	for i := range bs {
		s, n := unpack(bs[i].v.Load())
		if s > sec-window && s <= sec {
			total += n
		}
	}
	return total
}
