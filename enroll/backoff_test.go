package enroll

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	tests := []struct {
		n    int
		want time.Duration // the delay is in [want/2, want]
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{4, time.Second},
		{100, time.Second},
	}
	for _, tc := range tests {
		for range 50 {
			if got := b.after(tc.n); got < tc.want/2 || got > tc.want {
				t.Errorf("after(%d) = %v, want within [%v, %v]", tc.n, got, tc.want/2, tc.want)
			}
		}
	}
}
