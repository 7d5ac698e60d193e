package retry

import (
	"math/rand/v2"
	"time"
)

// Backoff is how long to wait before retry number attempt (1 for the first
// retry): a uniformly random duration in [0, min(max, base*2^(attempt-1))],
// the "full jitter" that keeps clients that failed together from retrying
// together. An attempt below 1 counts as 1; a base of zero or less means no
// wait; a max of zero or less means no cap.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	if base <= 0 {
		return 0
	}
	ceiling := ceiling(attempt, base, max)
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// ceiling is base*2^(attempt-1), capped at max and safe from overflow.
func ceiling(attempt int, base, max time.Duration) time.Duration {
	limit := max
	if limit <= 0 {
		limit = 1<<62 - 1
	}
	shift := attempt - 1
	if shift < 0 {
		shift = 0
	}
	if shift >= 62 || base > limit>>shift {
		return limit
	}
	return base << shift
}
