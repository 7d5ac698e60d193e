package test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startRedis starts a real redis-server on a free loopback port. Without
// one installed the test is skipped, or fails when PYLON_REQUIRE_REDIS=1
// (CI installs Debian's redis-server and sets it).
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		const msg = "redis-server not found: install Debian's redis-server package"
		if os.Getenv("PYLON_REQUIRE_REDIS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	addr := freeAddr(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("redis-server not ready within 10s")
	}
	return addr
}

// TestMeshTCPRedis: a real Redis behind a sidecar, used with a Redis client
// through the mesh: its TCP streams ride HTTP/2 CONNECT streams over the
// sidecars' mTLS connections, and an L4 authorization policy cuts them off.
func TestMeshTCPRedis(t *testing.T) {
	redisAddr := startRedis(t)
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
