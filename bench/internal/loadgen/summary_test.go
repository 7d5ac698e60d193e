package loadgen

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ms returns 1..n milliseconds in order.
func ms(n int) []time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	return d
}

// withTail appends n copies of slow and then one max to lat.
func withTail(lat []time.Duration, n int, slow, max time.Duration) []time.Duration {
	for range n {
		lat = append(lat, slow)
	}
	return append(lat, max)
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one value p50", ms(1), 0.5, 1 * time.Millisecond},
		{"one value p999", ms(1), 0.999, 1 * time.Millisecond},
		{"two values p50 takes lower", ms(2), 0.5, 1 * time.Millisecond},
		{"two values p99 takes upper", ms(2), 0.99, 2 * time.Millisecond},
		{"100 p50", ms(100), 0.50, 50 * time.Millisecond},
		{"100 p99 exact rank despite float error", ms(100), 0.99, 99 * time.Millisecond},
		{"100 p999 is max", ms(100), 0.999, 100 * time.Millisecond},
		{"1000 p999", ms(1000), 0.999, 999 * time.Millisecond},
		{"10000 p999", ms(10000), 0.999, 9990 * time.Millisecond},
		{"101 p50 rounds rank up", ms(101), 0.50, 51 * time.Millisecond},
		{"q 1 is max", ms(7), 1, 7 * time.Millisecond},
		{"tiny q is min", ms(7), 0.0001, 1 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Percentile(tc.sorted, tc.q)
			if got != tc.want {
				t.Errorf("got Percentile(%d values, %v) = %v, want %v", len(tc.sorted), tc.q, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name   string
		lat    []time.Duration
		errors int
		want   Summary
	}{
		{"empty keeps errors", nil, 3, Summary{Errors: 3}},
		{
			name: "unsorted input is sorted first",
			lat:  []time.Duration{4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond},
			want: Summary{Requests: 4, P50: 2 * time.Millisecond, P99: 4 * time.Millisecond, P999: 4 * time.Millisecond, Max: 4 * time.Millisecond},
		},
		{
			name: "1000 values with outlier tail",
			lat:  withTail(ms(990), 9, time.Second, 10*time.Second),
			want: Summary{Requests: 1000, P50: 500 * time.Millisecond, P99: 990 * time.Millisecond, P999: time.Second, Max: 10 * time.Second},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(tc.lat, tc.errors)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Summarize mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
