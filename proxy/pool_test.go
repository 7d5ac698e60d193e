package proxy

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolDropsConnectionsClosedWhileIdle uses an upstream that closes
// every connection shortly after accepting it, like a server with a short
// keep-alive timeout. A pooled connection it closed must not be handed out
// again: a request written to it would fail.
func TestPoolDropsConnectionsClosedWhileIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			time.AfterFunc(50*time.Millisecond, func() { c.Close() })
		}
	}()
	p := NewPool(ln.Addr().String(), PoolConfig{DialTimeout: time.Second, IdleTimeout: time.Minute, MaxIdle: 4})
	defer p.Close()
	uc, err := p.get(time.Time{}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A read deadline from an earlier request, long past.
	uc.dl.setRead(uc.Conn, time.Now().Add(-time.Hour), 0)
	p.put(uc, time.Now())
	// Past the upstream's close and past checkIdleAfter.
	time.Sleep(checkIdleAfter + 100*time.Millisecond)
	again, err := p.get(time.Time{}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again == uc {
		t.Errorf("the pool handed out a connection the upstream had closed")
	}
	// The upstream's accept loop counts the new connection on its own time.
	for deadline := time.Now().Add(2 * time.Second); accepted.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("upstream accepted %d connections, want 2 (the closed one replaced)", n)
	}
}

// TestPoolKeepsLiveIdleConnections checks the other side: an idle
// connection the upstream keeps open is reused, even when the deadline of
// its last request has passed.
func TestPoolKeepsLiveIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p := NewPool(ln.Addr().String(), PoolConfig{DialTimeout: time.Second, IdleTimeout: time.Minute, MaxIdle: 4})
	defer p.Close()
	uc, err := p.get(time.Time{}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	uc.dl.setRead(uc.Conn, time.Now().Add(-time.Hour), 0)
	p.put(uc, time.Now())
	time.Sleep(checkIdleAfter + 100*time.Millisecond)
	again, err := p.get(time.Time{}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again != uc {
		t.Errorf("the pool dropped a live idle connection")
	}
	again.Close()
}

// TestPoolDial: a pool with its own Dial (a mesh service's tunnels) opens
// its connections with it, within the dial timeout, never by TCP.
func TestPoolDial(t *testing.T) {
	var dials int
	var hadDeadline bool
	p := NewPool("10.255.255.1:9", PoolConfig{DialTimeout: time.Second, Dial: func(ctx context.Context) (net.Conn, error) {
		dials++
		_, hadDeadline = ctx.Deadline()
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, nil
	}})
	uc, err := p.get(time.Time{}, time.Now(), nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if dials != 1 || !hadDeadline {
		t.Errorf("got %d dials (deadline %v), want 1 with the dial timeout as deadline", dials, hadDeadline)
	}
	uc.Close()
	p.dialFn = func(context.Context) (net.Conn, error) { return nil, errors.New("no tunnel") }
	if _, err := p.get(time.Time{}, time.Now(), nil); err == nil || err.Error() != "no tunnel" {
		t.Errorf("a failing Dial: got %v, want its error", err)
	}
}
