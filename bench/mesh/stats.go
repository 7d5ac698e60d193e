package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// summary is the latency distribution of one round.
type summary struct {
	Requests, Errors    int
	P50, P99, P999, Max time.Duration
}

// summarize sorts lat in place and returns its percentiles.
func summarize(lat []time.Duration, errors int) summary {
	slices.Sort(lat)
	s := summary{Requests: len(lat), Errors: errors}
	if len(lat) == 0 {
		return s
	}
	s.P50, s.P99, s.P999 = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 0.999)
	s.Max = lat[len(lat)-1]
	return s
}

func (s summary) String() string {
	return fmt.Sprintf("%d requests, %d errors, p50 %v, p99 %v, p99.9 %v, max %v",
		s.Requests, s.Errors, s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond),
		s.P999.Round(time.Microsecond), s.Max.Round(time.Microsecond))
}

// percentile returns the nearest-rank q-quantile (0 < q <= 1) of sorted:
// the smallest value such that at least q of all values are at or below
// it. It returns 0 for an empty slice.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// Round before Ceil so that 0.99*100 (= 99.00000000000001) is rank 99.
	rank := int(math.Ceil(math.Round(q*float64(len(sorted))*1e6) / 1e6))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// median returns the median of v (the mean of the middle two for an even
// count), or 0 for none. It does not change v.
func median[T int64 | float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
