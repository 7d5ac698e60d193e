package ratelimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestFromRedis(t *testing.T) {
	tests := []struct {
		name string
		in   redis_rate.Result
		want Result
	}{
		{
			name: "allowed: RetryAfter -1 becomes 0",
			in:   redis_rate.Result{Allowed: 1, Remaining: 4, RetryAfter: -1, ResetAfter: time.Second},
			want: Result{Allowed: true, Remaining: 4, ResetAfter: time.Second},
		},
		{
			name: "refused",
			in:   redis_rate.Result{Allowed: 0, Remaining: 0, RetryAfter: 3 * time.Second, ResetAfter: time.Minute},
			want: Result{RetryAfter: 3 * time.Second, ResetAfter: time.Minute},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, fromRedis(&tc.in)); diff != "" {
				t.Errorf("fromRedis mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedisPrefix(t *testing.T) {
	client := newRedisClient(t)
	lim := Limit{Rate: 1, Period: time.Hour, Burst: 1}
	tests := []struct {
		name          string
		first, second string
		wantSecond    bool
	}{
		{name: "different prefixes are isolated", first: "gw-a:", second: "gw-b:", wantSecond: true},
		{name: "one prefix is shared", first: "shared:", second: "shared:", wantSecond: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Two limiters, as two gateways would have, on one Redis.
			first, second := NewRedis(client, tc.first), NewRedis(client, tc.second)
			if r, err := first.Allow(context.Background(), "k", lim); err != nil || !r.Allowed {
				t.Fatalf("first limiter's first request: got %+v, %v, want allowed", r, err)
			}
			r, err := second.Allow(context.Background(), "k", lim)
			if err != nil {
				t.Fatalf("second limiter: %v", err)
			}
			if r.Allowed != tc.wantSecond {
				t.Errorf("second limiter's first request: got allowed %v, want %v", r.Allowed, tc.wantSecond)
			}
		})
	}
}

func TestRedisErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		addr   string
		wantIs error // nil: only the message is checked
	}{
		{name: "unreachable redis", ctx: context.Background(), addr: closedAddr},
		{name: "canceled context", ctx: canceled, addr: closedAddr, wantIs: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := redis.NewClient(&redis.Options{Addr: tc.addr, MaxRetries: -1})
			defer client.Close()
			_, err := NewRedis(client, "p:").Allow(tc.ctx, "k", Limit{Rate: 1, Period: time.Second, Burst: 1})
			if err == nil || !strings.HasPrefix(err.Error(), "rate limit in redis: ") {
				t.Fatalf("Allow error: got %v, want one starting %q", err, "rate limit in redis: ")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Allow error: got %v, want one wrapping %v", err, tc.wantIs)
			}
		})
	}
}

// TestLocalAndRedisAgree runs one pseudo-random sequence of requests over a
// few keys and limits on both limiters and compares every decision. The
// limits' emission intervals are whole or binary fractions of seconds, which
// the Redis script's float seconds hold exactly (see Redis).
func TestLocalAndRedisAgree(t *testing.T) {
	limits := []Limit{
		{Rate: 3, Period: time.Hour, Burst: 3},
		{Rate: 1, Period: time.Hour, Burst: 5},
		{Rate: 10, Period: time.Hour, Burst: 1},
		{Rate: 32, Period: time.Hour, Burst: 4},
		{Rate: 4, Period: 24 * time.Hour, Burst: 2},
	}
	keys := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}
	local := newLocal(0, newFakeClock().now)
	shared := NewRedis(newRedisClient(t), "agree:")
	rng := rand.New(rand.NewPCG(1, 2))
	type decision struct {
		Allowed   bool
		Remaining int
	}
	var fromLocal, fromShared []decision
	for range 300 {
		i := rng.IntN(len(keys))
		key, lim := keys[i], limits[i%len(limits)]
		l, err := local.Allow(context.Background(), key, lim)
		if err != nil {
			t.Fatalf("local Allow: %v", err)
		}
		r, err := shared.Allow(context.Background(), key, lim)
		if err != nil {
			t.Fatalf("redis Allow: %v", err)
		}
		fromLocal = append(fromLocal, decision{l.Allowed, l.Remaining})
		fromShared = append(fromShared, decision{r.Allowed, r.Remaining})
	}
	if diff := cmp.Diff(fromLocal, fromShared); diff != "" {
		t.Errorf("decisions differ (-local +redis):\n%s", diff)
	}
}
