package tunnel

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrIdle is Splice's error when no byte moved for the idle timeout.
var ErrIdle = errors.New("tunnel: idle timeout")

// spliceBufSize is the copy buffer of each direction of a splice.
const spliceBufSize = 32 << 10

var spliceBufs = sync.Pool{New: func() any { return new([spliceBufSize]byte) }}

// Splice copies a to b and b to a until both directions have ended, then
// closes both and returns the byte counts and the first error (nil when
// both ended with EOF).
//
// When one side's reading ends with EOF, Splice half-closes the other side
// (CloseWrite, for connections that have it, like *net.TCPConn and tunnels)
// and keeps copying the other way; on a side without CloseWrite, or on an
// error, it closes both. An error (a reset, a broken pipe) closes TCP
// connections with a reset (SO_LINGER 0, for connections that have
// SetLinger), so a failure on one side reaches the other as one. With
// idle > 0, a splice in which no byte moved either way for idle is closed
// with ErrIdle, cleanly.
func Splice(a, b net.Conn, idle time.Duration) (aToB, bToA int64, err error) {
	s := &splice{a: a, b: b}
	if idle > 0 {
		s.idle = idle
		s.touch()
		s.mu.Lock()
		s.timer = time.AfterFunc(idle, s.checkIdle)
		s.mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		bToA = s.copy(a, b)
	}()
	aToB = s.copy(b, a)
	wg.Wait()
	s.closeBoth(nil)
	return aToB, bToA, s.err()
}

// splice is the state shared by the two directions of a Splice.
type splice struct {
	a, b  net.Conn
	idle  time.Duration
	timer *time.Timer
	last  atomic.Int64 // time of the last byte moved, in Unix nanoseconds

	mu    sync.Mutex
	first error // the first error, which closed both sides
	shut  bool  // both sides are closed
}

// copy copies src to dst and ends dst's direction when src ends.
func (s *splice) copy(dst, src net.Conn) int64 {
	buf := spliceBufs.Get().(*[spliceBufSize]byte)
	defer spliceBufs.Put(buf)
	var n int64
	for {
		nr, rerr := src.Read(buf[:])
		if nr > 0 {
			s.touch()
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				s.closeBoth(werr)
				return n
			}
		}
		switch {
		case rerr == io.EOF:
			s.closeWrite(dst)
			return n
		case rerr != nil:
			s.closeBoth(rerr)
			return n
		}
	}
}

// closeWrite half-closes dst, or closes both sides when it cannot.
func (s *splice) closeWrite(dst net.Conn) {
	cw, ok := dst.(interface{ CloseWrite() error })
	if !ok {
		s.closeBoth(nil)
		return
	}
	if err := cw.CloseWrite(); err != nil {
		s.closeBoth(err)
	}
}

// closeBoth closes both sides once, remembering err if it is the first.
func (s *splice) closeBoth(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil && !s.shut {
		s.first = err
	}
	if s.shut {
		return
	}
	s.shut = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if err != nil && !errors.Is(err, ErrIdle) && !errors.Is(err, net.ErrClosed) {
		// A side failed (reset, broken pipe): the other learns it the same
		// way, by a reset rather than a clean end, so that a stream cut
		// short cannot pass for a complete one.
		abort(s.a)
		abort(s.b)
	}
	s.a.Close()
	s.b.Close()
}

// abort makes the coming Close of a TCP connection send a reset: it drops
// unsent data and tells the peer the stream broke off (SO_LINGER 0).
// Connections without SetLinger, like tunnels, are left as they are.
func abort(c net.Conn) {
	if l, ok := c.(interface{ SetLinger(sec int) error }); ok {
		l.SetLinger(0)
	}
}

// err returns the error that ended the splice, if any.
func (s *splice) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// touch records that a byte moved, for the idle timeout.
func (s *splice) touch() {
	if s.idle > 0 {
		s.last.Store(time.Now().UnixNano())
	}
}

// checkIdle runs when the idle timer fires: it closes the splice if
// nothing moved for idle, and re-arms the timer otherwise.
func (s *splice) checkIdle() {
	since := time.Duration(time.Now().UnixNano() - s.last.Load())
	if since >= s.idle {
		s.closeBoth(ErrIdle)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.shut {
		s.timer.Reset(s.idle - since)
	}
}
