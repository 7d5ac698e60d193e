package tunnel

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestEcho sends 1 MB through a tunnel to an echo server while reading the
// echo back, and checks the bytes and the handler's counts.
func TestEcho(t *testing.T) {
	stats := make(chan Stats, 1)
	up := serveTCP(t, echo)
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP, Authorize: allowClient, OnStream: func(s Stats) { stats <- s }})
	c := mustDial(t, clientTransport(t, nil), sc, up)

	want := make([]byte, 1<<20)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes back, want the %d sent", len(got), len(want))
	}
	s := <-stats
	if diff := cmp.Diff(Stats{Target: up, Status: 200, BytesIn: 1 << 20, BytesOut: 1 << 20}, s,
		cmpopts.IgnoreFields(Stats{}, "Remote", "Duration")); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// TestHalfClose ends the caller's direction and still reads the answer the
// destination sends after it has seen EOF.
func TestHalfClose(t *testing.T) {
	up := serveTCP(t, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		fmt.Fprintf(c, "got %d bytes, bye", n)
	})
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP})
	c := mustDial(t, clientTransport(t, nil), sc, up)
	if _, err := io.WriteString(c, "hello, world"); err != nil {
		t.Fatal(err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading after CloseWrite: %v", err)
	}
	if diff := cmp.Diff("got 12 bytes, bye", string(got)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	if _, err := c.Write([]byte("more")); err == nil {
		t.Errorf("Write after CloseWrite: got no error, want one")
	}
}

// TestLineProtocol runs a request/response protocol through a tunnel.
func TestLineProtocol(t *testing.T) {
	up := serveTCP(t, lineEcho)
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP})
	c := mustDial(t, clientTransport(t, nil), sc, up)
	if got := c.RemoteAddr().String(); got != sc {
		t.Errorf("RemoteAddr: got %s, want the sidecar's %s", got, sc)
	}
	if got := c.LocalAddr().Network(); got != "tcp" {
		t.Errorf("LocalAddr: got network %s, want the pooled connection's tcp", got)
	}
	r := bufio.NewReader(c)
	for i := range 20 {
		if _, err := fmt.Fprintf(c, "line %d\n", i); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("echo: line %d\n", i); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// TestPooled opens 100 tunnels at once and checks that they all ride one
// TCP connection.
func TestPooled(t *testing.T) {
	var dials atomic.Int64
	up := serveTCP(t, lineEcho)
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP})
	tr := clientTransport(t, &dials)
	const n = 100
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- lineRoundTrip(tr, sc, up, i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := dials.Load(); got != 1 {
		t.Errorf("got %d connections dialed, want 1", got)
	}
}

// lineRoundTrip opens a tunnel, sends a line and checks the answer.
func lineRoundTrip(rt http.RoundTripper, endpoint, target string, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, rt, endpoint, target)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := fmt.Fprintf(c, "tunnel %d\n", i); err != nil {
		return err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if want := fmt.Sprintf("echo: tunnel %d\n", i); got != want {
		return fmt.Errorf("tunnel %d: got %q (%v), want %q", i, got, err, want)
	}
	return nil
}

// TestRefused checks the errors of Dial when the remote sidecar refuses.
func TestRefused(t *testing.T) {
	closed := closedPort(t)
	tests := []struct {
		name   string
		o      HandlerOptions
		target string
		want   *StatusError
	}{{
		name:   "not authorized",
		o:      HandlerOptions{Dial: dialTCP, Authorize: denyAll},
		target: "orders:80",
		want:   &StatusError{Target: "orders:80", Code: 403, Body: clientID + " may not connect to orders:80"},
	}, {
		name:   "destination refuses",
		o:      HandlerOptions{Dial: dialTCP},
		target: closed,
		want:   &StatusError{Target: closed, Code: 502},
	}, {
		name: "destination times out",
		o: HandlerOptions{Dial: func(ctx context.Context, target string) (net.Conn, error) {
			return nil, fmt.Errorf("dial %s: %w", target, context.DeadlineExceeded)
		}},
		target: "slow:80",
		want:   &StatusError{Target: "slow:80", Code: 504, Body: "tunnel: dial slow:80: dial slow:80: context deadline exceeded"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := startSidecar(t, tc.o)
			c, err := Dial(context.Background(), clientTransport(t, nil), sc, tc.target)
			if err == nil {
				c.Close()
				t.Fatal("Dial: got a tunnel, want an error")
			}
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Dial: got %v, want a *StatusError", err)
			}
			tc.want.Endpoint = sc
			if tc.want.Body == "" {
				tc.want.Body = se.Body // the dialer's text varies
			}
			if diff := cmp.Diff(tc.want, se); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// closedPort returns a loopback address that refuses connections.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestIdleTimeout checks that the remote sidecar ends an idle tunnel: the
// caller sees an error, the destination an EOF.
func TestIdleTimeout(t *testing.T) {
	upDone := make(chan error, 1)
	up := serveTCP(t, func(c net.Conn) {
		_, err := io.Copy(io.Discard, c)
		upDone <- err
	})
	stats := make(chan Stats, 1)
	sc := startSidecar(t, HandlerOptions{Dial: dialTCP, IdleTimeout: func() time.Duration { return 100 * time.Millisecond }, OnStream: func(s Stats) { stats <- s }})
	c := mustDial(t, clientTransport(t, nil), sc, up)
	if _, err := io.WriteString(c, "x"); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(make([]byte, 1))
	if err == nil || err == io.EOF {
		t.Errorf("Read of an idle tunnel: got %d, %v, want a stream error", n, err)
	}
	if err := <-upDone; err != nil {
		t.Errorf("destination: got %v, want EOF", err)
	}
	if s := <-stats; !errors.Is(s.Err, ErrIdle) {
		t.Errorf("stats: got error %v, want %v", s.Err, ErrIdle)
	}
}

// TestCloseEndsUpstream checks that closing the caller's end closes the
// remote sidecar's connection to the destination, and that no goroutine
// stays behind.
func TestCloseEndsUpstream(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("tunnel", func(t *testing.T) {
		upDone := make(chan struct{})
		up := serveTCP(t, func(c net.Conn) {
			defer close(upDone)
			echo(c)
		})
		stats := make(chan Stats, 1)
		sc := startSidecar(t, HandlerOptions{Dial: dialTCP, OnStream: func(s Stats) { stats <- s }})
		tr := clientTransport(t, nil)
		c := mustDial(t, tr, sc, up)
		if _, err := io.WriteString(c, "ping"); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		select {
		case <-upDone:
		case <-time.After(testTimeout):
			t.Fatal("the destination's connection is still open after Close")
		}
		if s := <-stats; s.BytesIn != 4 || s.BytesOut != 4 || !errors.Is(s.Err, ErrReset) {
			t.Errorf("stats: got %d in, %d out, error %v, want 4, 4 and %v", s.BytesIn, s.BytesOut, s.Err, ErrReset)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: got %v, want %v", err, net.ErrClosed)
		}
	})
	// The subtest's cleanups have stopped its servers and closed the pool.
	if err := waitGoroutines(before); err != nil {
		t.Error(err)
	}
}
