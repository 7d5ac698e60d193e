package loadgen

import (
	"math"
	"slices"
	"time"
)

// Summary is the latency distribution of one run.
type Summary struct {
	Requests int // responses received
	Errors   int // requests that failed
	P50      time.Duration
	P99      time.Duration
	P999     time.Duration
	Max      time.Duration
}

// Summarize sorts lat in place and returns its percentiles.
func Summarize(lat []time.Duration, errors int) Summary {
	slices.Sort(lat)
	s := Summary{Requests: len(lat), Errors: errors}
	if len(lat) == 0 {
		return s
	}
	s.P50 = Percentile(lat, 0.50)
	s.P99 = Percentile(lat, 0.99)
	s.P999 = Percentile(lat, 0.999)
	s.Max = lat[len(lat)-1]
	return s
}

// Percentile returns the nearest-rank q-quantile (0 < q <= 1) of sorted:
// the smallest value such that at least q of all values are at or below
// it. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// Round before Ceil so that 0.99*100 (= 99.00000000000001) is rank 99.
	rank := int(math.Ceil(math.Round(q*float64(len(sorted))*1e6) / 1e6))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}
