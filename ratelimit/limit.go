// Package ratelimit decides whether one more request under a key fits a
// rate limit, with the generic cell rate algorithm (GCRA): each key keeps one
// "theoretical arrival time" (TAT), and a request passes when the TAT it
// would push forward stays within the burst allowance.
//
// Two limiters implement the same [Limiter] contract with the same
// arithmetic: [Local] keeps its state in the process, [Redis] keeps it in
// Redis (through github.com/go-redis/redis_rate's Lua script) so that every
// gateway shares it. Switching a policy between them changes only where the
// state lives, never the decisions.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit allows Rate requests per Period on average, with bursts of up to Burst (GCRA).
//
// A valid Limit has Rate >= 1, Period > 0 and Burst >= 1; the config package
// validates that. Allow also refuses, with [ErrInvalidLimit], a limit whose
// emission interval (Period/Rate) is under a nanosecond or whose burst spans
// more than about 146 years, which GCRA in int64 nanoseconds cannot represent.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// Result is the decision on one request.
type Result struct {
	Allowed    bool
	Remaining  int           // requests that would be allowed right now after this one
	RetryAfter time.Duration // when refused: wait this long before a retry can pass; 0 when allowed
	ResetAfter time.Duration // time until the limiter is back to a full burst for this key
}

// Limiter decides whether one more request under key fits the limit.
//
// Implementations are safe for concurrent use. Allow may block only as long
// as its backing store takes (never for Local); an error means no decision
// was made, and the caller chooses to fail open or closed.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// ErrInvalidLimit is returned by Allow for a Limit it cannot apply (see Limit).
var ErrInvalidLimit = errors.New("invalid limit")

// maxSpan bounds a limit's burst span (Burst emission intervals) so that
// TAT arithmetic in int64 nanoseconds cannot overflow.
const maxSpan = int64(1) << 62

// interval returns the limit's emission interval and burst span in
// nanoseconds, or an error wrapping ErrInvalidLimit.
func (l Limit) interval() (emission, span int64, err error) {
	if l.Rate < 1 || l.Period <= 0 || l.Burst < 1 {
		return 0, 0, l.invalid()
	}
	emission = int64(l.Period) / int64(l.Rate)
	if emission < 1 || int64(l.Burst) > maxSpan/emission {
		return 0, 0, l.invalid()
	}
	return emission, emission * int64(l.Burst), nil
}

func (l Limit) invalid() error {
	return fmt.Errorf("applying rate limit of %d per %v, burst %d: %w", l.Rate, l.Period, l.Burst, ErrInvalidLimit)
}
