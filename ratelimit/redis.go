package ratelimit

import (
	"context"
	"fmt"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter whose state lives in Redis, shared by every gateway
// that uses the same Redis and prefix. It runs redis_rate's GCRA Lua script,
// which reads Redis's clock, so gateways need not agree on the time. The
// Redis key of a limiter key is "rate:" (redis_rate's namespace), then the
// prefix, then the key; each expires once it carries no state.
//
// Decisions match Local's, with one difference: the script computes in float
// seconds, so when Period/Rate is not exact in binary (an hour per 7, say) a
// key's first request may report Remaining one lower than Local does, and a
// request exactly at a boundary may be refused for a RetryAfter of
// nanoseconds. Later requests are off the boundary by the time Redis's clock
// moved between them.
//
// A Redis is safe for concurrent use.
type Redis struct {
	limiter *redis_rate.Limiter
	prefix  string
}

// NewRedis returns a Redis limiter that stores key under prefix+key.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{limiter: redis_rate.NewLimiter(client), prefix: prefix}
}

// Allow decides one request under key with one round trip to Redis. An
// error (an invalid limit, or Redis unreachable, slow past ctx, or failing)
// means no decision; the caller decides to fail open or closed.
func (r *Redis) Allow(ctx context.Context, key string, lim Limit) (Result, error) {
	if _, _, err := lim.interval(); err != nil {
		return Result{}, err
	}
	res, err := r.limiter.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: lim.Rate, Period: lim.Period, Burst: lim.Burst})
	if err != nil {
		return Result{}, fmt.Errorf("rate limit in redis: %w", err)
	}
	return fromRedis(res), nil
}

// fromRedis converts redis_rate's result, whose RetryAfter is -1 when the
// request is allowed.
func fromRedis(res *redis_rate.Result) Result {
	r := Result{Allowed: res.Allowed > 0, Remaining: res.Remaining, ResetAfter: res.ResetAfter}
	if r.Allowed {
		return r
	}
	r.RetryAfter = res.RetryAfter
	return r
}
