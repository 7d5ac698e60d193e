package push

import (
	"math/rand/v2"
	"time"
)

// backoff spaces out reconnects: the delay doubles from min to max, and
// each is drawn from its upper half, so that data planes cut off together
// do not come back together. Not safe for concurrent use.
type backoff struct {
	min, max time.Duration
	cur      time.Duration       // the next delay before jitter; 0 means min
	jitter   func(n int64) int64 // uniform in [0, n); rand.Int64N
}

func newBackoff(minDelay, maxDelay time.Duration) *backoff {
	return &backoff{min: minDelay, max: max(minDelay, maxDelay), jitter: rand.Int64N}
}

// next returns the delay before the next attempt.
func (b *backoff) next() time.Duration {
	d := b.cur
	if d == 0 {
		d = b.min
	}
	b.cur = b.max
	if d <= b.max/2 { // doubling cannot overflow
		b.cur = 2 * d
	}
	half := d / 2
	return half + time.Duration(b.jitter(int64(d-half)+1))
}

// reset starts again from min, after a stream that worked for a while.
func (b *backoff) reset() { b.cur = 0 }
