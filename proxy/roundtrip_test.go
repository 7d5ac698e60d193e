package proxy

import (
	"context"
	"testing"
	"time"
)

// lateTimer is a context whose deadline has a time but whose timer has
// not fired yet, as when the runtime runs it late.
type lateTimer struct {
	context.Context
	deadline time.Time
}

func (c lateTimer) Deadline() (time.Time, bool) { return c.deadline, true }

func TestDeadlinePassed(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), -time.Second)
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"no deadline", context.Background(), false},
		{"canceled, no deadline", canceled, false},
		{"deadline reached, timer fired", expired, true},
		{"deadline reached, timer not fired yet", lateTimer{context.Background(), time.Now().Add(-time.Millisecond)}, true},
		{"deadline ahead", lateTimer{context.Background(), time.Now().Add(time.Hour)}, false},
	} {
		if got := deadlinePassed(tc.ctx); got != tc.want {
			t.Errorf("%s: deadlinePassed = %v, want %v", tc.name, got, tc.want)
		}
	}
}
