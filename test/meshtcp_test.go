package test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
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

// TestMeshTCPBalancesAndEjects: TCP connections to an upstream with two
// instances are spread by the service's balancer, count in its endpoint
// statistics, and when one instance dies, new connections go to the other
// while the dead one is ejected; the caller's /services shows both.
func TestMeshTCPBalancesAndEjects(t *testing.T) {
	cp := startControl(t, "")
	// Without a service resource the mesh defaults give an instance that
	// joins the caller's view later a 10 s slow start, during which it takes
	// almost nothing: the 40 connections below, made in under a second,
	// could then all go to the first. A stored service has no slow start.
	cp.applyYAML("services:\n  - {name: redis, balancer: peak_ewma}\n")
	redis1 := startSidecar(t, cp, cp.joinToken("redis"), "redis", redistest.Start(t), []string{"--protocol", "tcp"})
	redis2 := startSidecar(t, cp, cp.joinToken("redis"), "redis", redistest.Start(t), []string{"--protocol", "tcp"})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "redis")
	ctx := testContext(t, 60*time.Second)
	ping := func() error {
		rdb := redis.NewClient(&redis.Options{Addr: orders.outbound["redis"], PoolSize: 1, MaxRetries: -1})
		defer rdb.Close()
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return rdb.Ping(c).Err()
	}
	waitFor(t, 10*time.Second, "both redis instances in the caller's view", func() bool {
		for _, s := range orders.services() {
			if s.Name == "redis" && len(s.Endpoints) == 2 {
				return true
			}
		}
		return false
	})
	for range 40 {
		if err := ping(); err != nil {
			t.Fatalf("PING through the mesh: %v", err)
		}
	}
	// A tunnel is counted when its splice ends, just after the client closed.
	var e1, e2 endpointStatus
	waitFor(t, 5*time.Second, "the 40 tunnels to be counted as closed", func() bool {
		e1, e2 = orders.endpoint("redis", redis1.inbound), orders.endpoint("redis", redis2.inbound)
		return e1.InFlight == 0 && e2.InFlight == 0 && e1.Requests+e2.Requests == 40
	})
	if e1.Requests == 0 || e2.Requests == 0 {
		t.Errorf("connections per instance: got %d and %d, want both used", e1.Requests, e2.Requests)
	}

	redis2.kill() // a crash: still registered until its lease lapses
	for i := range 40 {
		if err := ping(); err != nil {
			t.Errorf("PING %d after one instance died: %v, want every connection taken by the other", i, err)
		}
	}
	if ep := orders.endpoint("redis", redis2.inbound); !ep.Ejected && ep.Failures == 0 {
		t.Errorf("dead instance in the caller's /services: %+v, want it ejected or counting failures", ep)
	}
}

// TestMeshTCPResetReachesTheCaller: when the called app resets its TCP
// connection in the middle of a reply, the caller, through both sidecars,
// gets the bytes sent before and then a reset, not a clean end that would
// make the cut reply look complete.
func TestMeshTCPResetReachesTheCaller(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				line, _ := bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, "partial reply to "+line)
				time.Sleep(100 * time.Millisecond) // the bytes leave first
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}()
		}
	}()
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("flaky"), "flaky", ln.Addr().String(), []string{"--protocol", "tcp"})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "flaky")

	var got []byte
	var readErr error
	waitFor(t, 10*time.Second, "a reply from flaky through the mesh", func() bool {
		c, err := net.DialTimeout("tcp", orders.outbound["flaky"], time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "hello\n")
		got, readErr = io.ReadAll(c)
		return len(got) > 0
	})
	if string(got) != "partial reply to hello\n" {
		t.Fatalf("the caller read %q, want the bytes sent before the reset", got)
	}
	if !errors.Is(readErr, syscall.ECONNRESET) {
		t.Fatalf("after the reply the caller read %v, want a connection reset (the called app reset its connection)", readErr)
	}
}
