package enroll

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is an exponential retry delay with jitter.
type backoff struct {
	min, max time.Duration
}

var defaultBackoff = backoff{min: 500 * time.Millisecond, max: 30 * time.Second}

// after returns the delay before retry number n (0 for the first), a
// random duration in [d/2, d) where d doubles from min up to max.
func (b backoff) after(n int) time.Duration {
	d := b.min
	for i := 0; i < n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx ends, whichever is first; it returns
// ctx's error in the second case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
