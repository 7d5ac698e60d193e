//go:build linux

package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/pylon-mesh/pylon/bench/internal/loadgen"
)

// summary is the latency distribution of one round.
type summary loadgen.Summary

// summarize sorts lat in place and returns its percentiles.
func summarize(lat []time.Duration, errors int) summary {
	return summary(loadgen.Summarize(lat, errors))
}

func (s summary) String() string {
	return fmt.Sprintf("%d requests, %d errors, p50 %v, p99 %v, p99.9 %v, max %v",
		s.Requests, s.Errors, s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond),
		s.P999.Round(time.Microsecond), s.Max.Round(time.Microsecond))
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
