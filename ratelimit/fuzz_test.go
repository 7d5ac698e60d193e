package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzLocalAllow drives a few keys, more than the limiter holds, through any
// limit and any gaps between requests, and checks that Allow never panics
// and its results stay within GCRA's bounds.
func FuzzLocalAllow(f *testing.F) {
	f.Add(3, int64(time.Hour), 3, []byte{0, 0, 0, 0, 255})
	f.Add(10, int64(time.Second), 5, []byte{0, 1, 2, 3, 100, 7})
	f.Add(1, int64(1)<<62, 1, []byte{255, 255})
	f.Add(0, int64(0), 0, []byte{1})
	f.Add(1<<30, int64(time.Nanosecond), 1<<30, []byte{})
	f.Fuzz(func(t *testing.T, rate int, period int64, burst int, gaps []byte) {
		lim := Limit{Rate: rate, Period: time.Duration(period), Burst: burst}
		clock := newFakeClock()
		l := newLocal(4, clock.now)
		keys := []string{"a", "b", "c", "d", "e", "f"}
		emission, _, validErr := lim.interval()
		var elapsed int64
		for _, g := range gaps {
			// Gaps of 0 to 255 sixteenths of an emission interval, for
			// less than the 146 years a process's clock can run.
			unit := emission / 16
			if g > 0 && unit > (maxSpan-elapsed)/int64(g) {
				break
			}
			gap := unit * int64(g)
			elapsed += gap
			clock.advance(time.Duration(gap))
			r, err := l.Allow(context.Background(), keys[g%byte(len(keys))], lim)
			if validErr != nil {
				if !errors.Is(err, ErrInvalidLimit) {
					t.Fatalf("Allow(%+v) error: got %v, want %v", lim, err, ErrInvalidLimit)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Allow(%+v): %v", lim, err)
			}
			checkBounds(t, lim, emission, r)
		}
	})
}

// checkBounds fails t if r is outside what GCRA can decide under lim.
func checkBounds(t *testing.T, lim Limit, emission int64, r Result) {
	t.Helper()
	span := time.Duration(emission * int64(lim.Burst))
	ok := r.Remaining >= 0 && r.Remaining < lim.Burst && r.ResetAfter <= span
	if r.Allowed {
		ok = ok && r.RetryAfter == 0 && r.ResetAfter >= time.Duration(emission)
	} else {
		ok = ok && r.Remaining == 0 && r.RetryAfter > 0 && r.RetryAfter <= time.Duration(emission)
	}
	if !ok {
		t.Fatalf("Allow(%+v) = %+v: outside GCRA's bounds (emission %v, span %v)", lim, r, time.Duration(emission), span)
	}
}
