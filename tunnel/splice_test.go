package tunnel

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// spliceResult is what Splice returned.
type spliceResult struct {
	AToB, BToA int64
	Err        error
}

// TestSplice drives the outer ends of two spliced connections.
func TestSplice(t *testing.T) {
	tests := []struct {
		name string
		// pipeB makes b's side a net.Pipe, which has no CloseWrite.
		pipeB bool
		idle  time.Duration
		// drive acts on the outer ends and checks what they see.
		drive func(t *testing.T, a, b net.Conn)
		want  spliceResult
	}{{
		name: "half-close both ways",
		drive: func(t *testing.T, a, b net.Conn) {
			io.WriteString(a, "hello")
			a.(*net.TCPConn).CloseWrite()
			expectRead(t, b, "hello")
			io.WriteString(b, "world!")
			b.(*net.TCPConn).CloseWrite()
			expectRead(t, a, "world!")
		},
		want: spliceResult{AToB: 5, BToA: 6},
	}, {
		name:  "EOF towards a side without CloseWrite closes both",
		pipeB: true,
		drive: func(t *testing.T, a, b net.Conn) {
			io.WriteString(a, "bye")
			a.(*net.TCPConn).CloseWrite()
			expectRead(t, b, "bye")
			expectRead(t, a, "")
		},
		want: spliceResult{AToB: 3},
	}, {
		name: "idle",
		idle: 50 * time.Millisecond,
		drive: func(t *testing.T, a, b net.Conn) {
			io.WriteString(a, "x")
			expectReadN(t, b, "x")
			expectRead(t, a, "") // until the idle timeout closes it
			expectRead(t, b, "")
		},
		want: spliceResult{AToB: 1, Err: ErrIdle},
	}, {
		name: "reset",
		drive: func(t *testing.T, a, b net.Conn) {
			b.(*net.TCPConn).SetLinger(0)
			b.Close()
			expectRead(t, a, "")
		},
		want: spliceResult{Err: errAny},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aOut, aIn := tcpPair(t)
			var bIn, bOut net.Conn
			if tc.pipeB {
				bIn, bOut = net.Pipe()
			} else {
				bIn, bOut = tcpPair(t)
			}
			done := make(chan spliceResult, 1)
			go func() {
				var r spliceResult
				r.AToB, r.BToA, r.Err = Splice(aIn, bIn, tc.idle)
				done <- r
			}()
			aOut.SetDeadline(time.Now().Add(testTimeout))
			bOut.SetDeadline(time.Now().Add(testTimeout))
			tc.drive(t, aOut, bOut)
			got := <-done
			if tc.want.Err == errAny && got.Err != nil {
				got.Err = errAny
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("Splice (-want +got):\n%s", diff)
			}
		})
	}
}

// errAny stands for any non-nil error in TestSplice's table.
var errAny = errors.New("any error")

// expectRead reads c to its end and checks it got want.
func expectRead(t *testing.T, c net.Conn, want string) {
	t.Helper()
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && !ne.Timeout() || errors.Is(err, net.ErrClosed) {
		err = nil // a reset or closed side reads as its end here
	}
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
}

// expectReadN reads len(want) bytes of c and checks they are want.
func expectReadN(t *testing.T, c net.Conn, want string) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading: %v", err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
}

// TestSplicePassesAResetOn: when one side's peer resets its connection,
// the other side's peer is reset too, after the bytes sent before; an idle
// timeout still ends both cleanly.
func TestSplicePassesAResetOn(t *testing.T) {
	t.Run("reset", func(t *testing.T) {
		caller, a := tcpPair(t)
		b, callee := tcpPair(t)
		done := make(chan error, 1)
		go func() { _, _, err := Splice(a, b, 0); done <- err }()
		callee.Write([]byte("partial"))
		time.Sleep(50 * time.Millisecond) // the bytes reach the caller's side first
		callee.SetLinger(0)
		callee.Close()
		caller.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(caller)
		if string(got) != "partial" || !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("the caller read %q, %v; want \"partial\" and a connection reset", got, err)
		}
		if err := <-done; err == nil {
			t.Error("Splice returned no error for a reset")
		}
	})
	t.Run("idle timeout ends cleanly", func(t *testing.T) {
		caller, a := tcpPair(t)
		b, _ := tcpPair(t)
		done := make(chan error, 1)
		go func() { _, _, err := Splice(a, b, 50*time.Millisecond); done <- err }()
		caller.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(caller); err != nil {
			t.Fatalf("the caller read %v after the idle timeout, want a clean end", err)
		}
		if err := <-done; !errors.Is(err, ErrIdle) {
			t.Errorf("Splice returned %v, want ErrIdle", err)
		}
	})
}
