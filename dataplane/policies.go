package dataplane

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pylon-mesh/pylon/policy"
	"github.com/pylon-mesh/pylon/ratelimit"
)

// limitStores keeps the counts of rate limits across reloads: one store in
// this process, and one Redis client per address policies name. A reload
// that keeps a policy keeps its counts.
type limitStores struct {
	local  *ratelimit.Local
	logger *slog.Logger

	mu      sync.Mutex
	clients map[string]*redis.Client
	limits  map[string]*ratelimit.Redis
	// lastLog is when a store failure was last logged, in Unix
	// nanoseconds: at most one line per logEvery, however many requests fail.
	lastLog atomic.Int64
}

// logEvery spaces out the log lines about a Redis that cannot be asked.
const logEvery = 10 * time.Second

// redisPrefix starts every key pylon's rate limits keep in Redis.
const redisPrefix = "pylon:ratelimit:"

func newLimitStores(logger *slog.Logger) *limitStores {
	quietRedis.Do(func() { redis.SetLogger(redisLogger{}) })
	return &limitStores{
		local:   ratelimit.NewLocal(0),
		logger:  logger,
		clients: map[string]*redis.Client{},
		limits:  map[string]*ratelimit.Redis{},
	}
}

// quietRedis silences go-redis's own logger, which prints plain-text lines
// (one per failed dial) to stderr, beside pylon's JSON log: failed limits are
// logged by failed, at most once per logEvery.
var quietRedis sync.Once

// redisLogger drops go-redis's log lines.
type redisLogger struct{}

// Printf drops the line.
func (redisLogger) Printf(context.Context, string, ...any) {}

// env is what compiled policies use.
func (s *limitStores) env() policy.Env {
	return policy.Env{Local: s.local, Redis: s.redis, StoreFailed: s.failed}
}

// redis returns the limiter of a Redis address, connecting on first use.
func (s *limitStores) redis(addr string) ratelimit.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.limits[addr]; l != nil {
		return l
	}
	c := redis.NewClient(&redis.Options{
		Addr:         addr,
		DialTimeout:  time.Second,
		ReadTimeout:  250 * time.Millisecond,
		WriteTimeout: 250 * time.Millisecond,
		// A gateway that cannot reach Redis answers from on_error at once
		// rather than queueing requests behind retries: one dial attempt
		// (go-redis makes 5, 100 ms apart, by default), no command retries.
		DialerRetries: 1,
		MaxRetries:    -1,
	})
	l := ratelimit.NewRedis(c, redisPrefix)
	s.clients[addr], s.limits[addr] = c, l
	return l
}

// failed logs that a limit could not be checked, at most once per logEvery.
func (s *limitStores) failed(name string, err error) {
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(logEvery) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.logger.Warn("rate limit store unavailable; the policy's on_error decides", "policy", name, "err", err)
}

// close closes the Redis clients.
func (s *limitStores) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for addr, c := range s.clients {
		c.Close()
		delete(s.clients, addr)
		delete(s.limits, addr)
	}
}
