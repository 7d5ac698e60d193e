package proxy

import (
	"testing"
	"time"
)

func TestNear(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name       string
		have, want time.Time
		slack      time.Duration
		near       bool
	}{
		{"both unset", time.Time{}, time.Time{}, time.Second, true},
		{"unset to set", time.Time{}, base, time.Second, false},
		{"set to unset", base, time.Time{}, time.Second, false},
		{"equal", base, base, 0, true},
		{"earlier within slack", base.Add(-500 * time.Millisecond), base, time.Second, true},
		{"earlier beyond slack", base.Add(-2 * time.Second), base, time.Second, false},
		{"later than wanted", base.Add(time.Millisecond), base, time.Second, false},
	} {
		if got := near(tc.have, tc.want, tc.slack); got != tc.near {
			t.Errorf("%s: near = %v, want %v", tc.name, got, tc.near)
		}
	}
}
