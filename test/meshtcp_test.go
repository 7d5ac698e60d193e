package test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pylon-mesh/pylon/internal/redistest"
)

// TestMeshTCPRedis: a real Redis behind a sidecar, used with a Redis client
// through the mesh: its TCP streams ride HTTP/2 CONNECT streams over the
// sidecars' mTLS connections, and an L4 authorization policy cuts them off.
func TestMeshTCPRedis(t *testing.T) {
	redisAddr := redistest.Start(t)
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("redis"), "redis", redisAddr, []string{"--protocol", "tcp"})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "redis")
	rdb := redis.NewClient(&redis.Options{Addr: orders.outbound["redis"], PoolSize: 8, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	ctx := testContext(t, 30*time.Second)
	waitFor(t, 10*time.Second, "redis to answer through the mesh", func() bool {
		return rdb.Ping(ctx).Err() == nil
	})

	big := strings.Repeat("x", 1<<20)
	if err := rdb.Set(ctx, "big", big, 0).Err(); err != nil {
		t.Fatalf("SET 1 MB: %v", err)
	}
	if got, err := rdb.Get(ctx, "big").Result(); err != nil || got != big {
		t.Fatalf("GET 1 MB: %d bytes, %v", len(got), err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := rdb.Incr(ctx, "counter").Err(); err != nil {
					t.Errorf("INCR: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, err := rdb.Get(ctx, "counter").Int(); err != nil || n != 400 {
		t.Errorf("counter: got %d, %v; want 400 from 8 concurrent clients", n, err)
	}
	pipe := rdb.Pipeline()
	for i := range 100 {
		pipe.Set(ctx, fmt.Sprint("k", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Errorf("pipeline of 100: %v", err)
	}

	cp.applyYAML("authorization_policies:\n  - {name: redis-deny-orders, service: redis, action: deny, from: [{services: [orders]}]}\n")
	waitFor(t, 5*time.Second, "the deny policy to cut orders off redis", func() bool {
		fresh := redis.NewClient(&redis.Options{Addr: orders.outbound["redis"], MaxRetries: -1})
		defer fresh.Close()
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return fresh.Ping(c).Err() != nil
	})
}
