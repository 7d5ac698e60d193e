//go:build linux

package evloop

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serve starts a group of n loops and a listener whose connections run fn
// as tasks; it returns the listener's address.
func serve(t *testing.T, n int, fn func(*Conn)) (*Group, string) {
	t.Helper()
	g, err := NewGroup(n)
	if err != nil {
		t.Fatal(err)
	}
	return g, serveOn(t, g, fn)
}

// serveOn is serve on a group the test made.
func serveOn(t *testing.T, g *Group, fn func(*Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); g.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if err := g.Go(c, fn); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	return ln.Addr().String()
}

func echo(c *Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Many clients at once, each with messages far larger than a socket
// buffer, so that reads and writes both find their socket not ready and
// wait in the loop.
func TestEchoManyClientsLargeMessages(t *testing.T) {
	_, addr := serve(t, 2, echo)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for _, size := range []int{1, 100, 64 << 10, 1 << 20} {
				msg := make([]byte, size)
				rand.Read(msg)
				errc := make(chan error, 1)
				go func() { _, err := c.Write(msg); errc <- err }()
				got := make([]byte, size)
				if _, err := io.ReadFull(c, got); err != nil {
					t.Errorf("reading %d bytes back: %v", size, err)
					return
				}
				if err := <-errc; err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(got, msg) {
					t.Errorf("%d bytes came back changed", size)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestReadDeadline(t *testing.T) {
	result := make(chan error, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := c.Read(make([]byte, 10))
		result <- err
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = <-result
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline returned %v, want a deadline error", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%v is not a net.Error with Timeout()", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("the deadline fired after %v", el)
	}
}

// A deadline moved from another goroutine wakes a task already waiting,
// as a server's shutdown does to connections waiting for a request.
func TestDeadlineFromAnotherGoroutineWakesTheTask(t *testing.T) {
	conns := make(chan *Conn, 1)
	result := make(chan error, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		conns <- c
		_, err := c.Read(make([]byte, 10))
		result <- err
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ec := <-conns
	time.Sleep(20 * time.Millisecond) // let the task wait
	ec.SetReadDeadline(time.Now())
	select {
	case err := <-result:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %v, want a deadline error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting read did not wake")
	}
}

func TestCloseFromAnotherGoroutineWakesTheTask(t *testing.T) {
	conns := make(chan *Conn, 1)
	result := make(chan error, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		conns <- c
		_, err := c.Read(make([]byte, 10))
		result <- err
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ec := <-conns
	time.Sleep(20 * time.Millisecond)
	ec.Close()
	select {
	case err := <-result:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting read did not wake")
	}
	// The client sees the connection closed.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read %v, want EOF", err)
	}
}

func TestPeerCloseIsEOF(t *testing.T) {
	result := make(chan error, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		_, err := c.Read(make([]byte, 10))
		result <- err
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-result; err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

// A read that drained the socket (short, or exactly the buffer's size)
// is followed by reads that must still see what arrives later, and the
// peer's close after it: the task reads in 10-byte pieces while the
// client writes pieces shorter, equal to and longer than that, pausing
// between them so each finds the socket empty.
func TestReadsAfterADrainedSocketSeeLaterData(t *testing.T) {
	got := make(chan []byte, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		var all []byte
		buf := make([]byte, 10)
		for {
			n, err := c.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				got <- all
				return
			}
		}
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i, size := range []int{5, 10, 3, 10, 25, 1} {
		piece := bytes.Repeat([]byte{byte('a' + i)}, size)
		want = append(want, piece...)
		if _, err := c.Write(piece); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	select {
	case all := <-got:
		if !bytes.Equal(all, want) {
			t.Fatalf("task read %q, want %q", all, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the task did not see the later data or the close")
	}
}

// Data and the peer's close that arrive together bring one event: the
// short read that takes the data must not hide the end of the stream
// behind it. The task sleeps first, so both have arrived (and their event
// has been seen) before it reads.
func TestEndOfStreamAfterAShortRead(t *testing.T) {
	result := make(chan error, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		c.Loop().Sleep(100 * time.Millisecond)
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "hello" {
			result <- fmt.Errorf("first read: %q, %v; want \"hello\", nil", buf[:n], err)
			return
		}
		_, err = c.Read(buf)
		result <- err
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello"))
	c.Close()
	select {
	case err := <-result:
		if err != io.EOF {
			t.Fatalf("second read: %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read after the data did not see the peer's close")
	}
}

// A task that sleeps leaves its loop free for the others: with one loop,
// an echo on a second connection is answered while the first sleeps.
func TestSleepLetsOtherTasksRun(t *testing.T) {
	slept := make(chan time.Duration, 1)
	first := true
	var mu sync.Mutex
	_, addr := serve(t, 1, func(c *Conn) {
		mu.Lock()
		sleeper := first
		first = false
		mu.Unlock()
		if sleeper {
			start := time.Now()
			c.Loop().Sleep(300 * time.Millisecond)
			slept <- time.Since(start)
			c.Close()
			return
		}
		echo(c)
	})
	a, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	time.Sleep(20 * time.Millisecond)
	b, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	start := time.Now()
	b.Write([]byte("ping"))
	got := make([]byte, 4)
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if el := time.Since(start); el > 200*time.Millisecond {
		t.Fatalf("the echo took %v: the sleeping task held the loop", el)
	}
	if d := <-slept; d < 300*time.Millisecond {
		t.Fatalf("Sleep(300ms) returned after %v", d)
	}
}

func TestDial(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		c, err := up.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	upAddr := netip.MustParseAddrPort(up.Addr().String())
	// A port nobody listens on: bind one, then close it.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := netip.MustParseAddrPort(closed.Addr().String())
	closed.Close()

	type result struct {
		echoed     string
		err        error
		refusedErr error
	}
	results := make(chan result, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		var r result
		defer func() { results <- r }()
		_, r.refusedErr = c.Loop().Dial(refused, time.Now().Add(5*time.Second))
		u, err := c.Loop().Dial(upAddr, time.Now().Add(5*time.Second))
		if err != nil {
			r.err = err
			return
		}
		defer u.Close()
		if u.LocalAddr() == nil || u.RemoteAddr().String() != upAddr.String() {
			r.err = errors.New("dialed connection's addresses are wrong: " + u.RemoteAddr().String())
			return
		}
		u.Write([]byte("hello upstream"))
		buf := make([]byte, 14)
		if _, err := io.ReadFull(u, buf); err != nil {
			r.err = err
			return
		}
		r.echoed = string(buf)
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := <-results
	if r.err != nil || r.echoed != "hello upstream" {
		t.Fatalf("dial and echo: %q, %v", r.echoed, r.err)
	}
	if !errors.Is(r.refusedErr, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: %v, want connection refused", r.refusedErr)
	}
	var oe *net.OpError
	if !errors.As(r.refusedErr, &oe) || oe.Op != "dial" {
		t.Fatalf("dial error %v is not a dial *net.OpError", r.refusedErr)
	}
}

// A task hands its connection to a goroutine, which goes on with it
// through the runtime's poller with the deadlines set before.
func TestDetach(t *testing.T) {
	_, addr := serve(t, 1, func(c *Conn) {
		var line []byte
		buf := make([]byte, 1)
		for {
			if _, err := c.Read(buf); err != nil {
				c.Close()
				return
			}
			line = append(line, buf[0])
			if buf[0] == '\n' {
				break
			}
		}
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		nc, err := c.Detach()
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read of a detached Conn: %v, want net.ErrClosed", err)
		}
		go func() {
			defer nc.Close()
			nc.Write(append([]byte("got "), line...))
			more := make([]byte, 4)
			if _, err := io.ReadFull(nc, more); err != nil {
				nc.Write([]byte("error"))
				return
			}
			nc.Write(more)
			if _, err := nc.Read(more); errors.Is(err, os.ErrDeadlineExceeded) {
				nc.Write([]byte("timeout"))
			}
		}()
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("hello\n"))
	want := "got hello\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	c.Write([]byte("more"))
	rest, err := io.ReadAll(c)
	if err != nil || string(rest) != "moretimeout" {
		t.Fatalf("after detaching: %q, %v; want the echo, then the carried deadline's timeout", rest, err)
	}
}

func TestPanicInTaskLeavesTheLoopServing(t *testing.T) {
	panics := make(chan any, 1)
	g, err := NewGroup(1)
	if err != nil {
		t.Fatal(err)
	}
	g.OnPanic = func(v any) { panics <- v }
	first := true
	var mu sync.Mutex
	addr := serveOn(t, g, func(c *Conn) {
		mu.Lock()
		p := first
		first = false
		mu.Unlock()
		if p {
			c.Close()
			panic("boom")
		}
		echo(c)
	})
	a, _ := net.Dial("tcp", addr)
	defer a.Close()
	select {
	case v := <-panics:
		if v != "boom" {
			t.Fatalf("OnPanic got %v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnPanic was not called")
	}
	b, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Write([]byte("x"))
	got := make([]byte, 1)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatalf("the loop stopped serving after a panic: %v", err)
	}
}

// A connection whose reads never have to wait (its client pipelines)
// must not keep its loop's other connections waiting.
func TestBusyConnectionLetsOthersRun(t *testing.T) {
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		buf := make([]byte, 1)
		for {
			// One byte at a time: the busy client's data is always there.
			if _, err := c.Read(buf); err != nil {
				return
			}
			if buf[0] == 'p' {
				c.Write(buf)
			}
		}
	})
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		junk := bytes.Repeat([]byte("x"), 64<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := busy.Write(junk); err != nil {
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	other, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetDeadline(time.Now().Add(2 * time.Second))
	other.Write([]byte("p"))
	if _, err := io.ReadFull(other, make([]byte, 1)); err != nil {
		t.Fatalf("a second connection got no answer while another kept the loop busy: %v", err)
	}
}

// A write to a peer that reads nothing fills the socket buffers, waits in
// the loop, and ends at the write deadline with what it wrote so far.
func TestWriteDeadline(t *testing.T) {
	type result struct {
		n   int
		err error
	}
	results := make(chan result, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Write(make([]byte, 64<<20))
		results <- result{n, err}
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case r := <-results:
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("write to a peer that reads nothing: %v, want a deadline error", r.err)
		}
		if r.n <= 0 || r.n >= 64<<20 {
			t.Fatalf("wrote %d bytes before the deadline; want some, not all", r.n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the write did not end at its deadline")
	}
}

// A waiter keeps its timer after data wakes it (see schedule): the timer
// must still fire at the deadline of the next wait, move with a deadline
// that moves, and leave the heap when the connection closes.
func TestTimerKeptAcrossWaits(t *testing.T) {
	type step struct {
		err     error
		elapsed time.Duration
	}
	steps := make(chan step, 3)
	timers := make(chan int, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		buf := make([]byte, 10)
		start := time.Now()
		c.SetReadDeadline(start.Add(300 * time.Millisecond))
		_, err := c.Read(buf) // data arrives at once
		steps <- step{err, time.Since(start)}
		_, err = c.Read(buf) // same deadline: none arrives
		steps <- step{err, time.Since(start)}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(buf) // data arrives after the old deadline
		steps <- step{err, time.Since(start)}
		l := c.Loop()
		c.Close()
		l.post(func() { timers <- len(l.timers) })
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("a"))
	if s := <-steps; s.err != nil {
		t.Fatalf("first read: %v", s.err)
	}
	if s := <-steps; !errors.Is(s.err, os.ErrDeadlineExceeded) || s.elapsed < 250*time.Millisecond {
		t.Fatalf("second read, with the first's deadline: %v after %v, want a deadline error after 300ms", s.err, s.elapsed)
	}
	time.Sleep(400 * time.Millisecond)
	c.Write([]byte("b"))
	if s := <-steps; s.err != nil {
		t.Fatalf("third read, deadline moved to 5s, data after 700ms: %v after %v", s.err, s.elapsed)
	}
	if n := <-timers; n != 0 {
		t.Fatalf("%d timers left after the connection closed, want 0", n)
	}
}

// Loop.Now is fresh for a task the loop resumes right after it slept: a
// connection idle on a quiet loop that then sends half a request must not
// have the rest's timeout counted from before the loop slept.
func TestNowAfterTheLoopSlept(t *testing.T) {
	result := make(chan error, 1)
	_, addr := serve(t, 1, func(c *Conn) {
		defer c.Close()
		buf := make([]byte, 10)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(buf); err != nil {
			result <- err
			return
		}
		c.SetReadDeadline(c.Loop().Now().Add(time.Second))
		_, err := c.Read(buf)
		result <- err
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(1500 * time.Millisecond) // nothing to do: the loop sleeps
	c.Write([]byte("a"))
	time.Sleep(100 * time.Millisecond)
	c.Write([]byte("b"))
	if err := <-result; err != nil {
		t.Fatalf("a read with a deadline 1s after Now, data after 100ms: %v", err)
	}
}
