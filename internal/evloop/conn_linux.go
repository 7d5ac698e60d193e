//go:build linux

package evloop

import (
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is a TCP connection registered with a loop. It implements net.Conn
// with the rules of the package: Read and Write from tasks of its loop
// only; Close, CloseWrite and the deadline setters from anywhere.
type Conn struct {
	loop *Loop
	// fd is the socket; it stays open until the loop has dropped it, so a
	// task never reads a descriptor number the kernel has given to another
	// connection.
	fd            int
	local, remote net.Addr
	r, w          waiter
	// mayRead is false once a read has drained the socket, until the loop
	// sees a read event for it: a read then waits without first making a
	// system call that could only fail with EAGAIN (each proxied request
	// would make two). Only the loop's thread uses it. The registration is
	// edge-triggered, so data that arrives after the draining read always
	// brings an event. A short read says nothing about the peer's close,
	// though: once an event has reported it (peerClosed), a short read
	// leaves the next read to the system call, which returns the end of
	// the stream or the error.
	mayRead, peerClosed bool
	// closed is set by the first Close (or Detach); reads and writes fail
	// from then on.
	closed atomic.Bool
}

// register makes fd a connection of l. It runs on the loop.
func (l *Loop) register(fd int, local, remote net.Addr) (*Conn, error) {
	c := &Conn{loop: l, fd: fd, local: local, remote: remote, mayRead: true}
	c.r.index, c.w.index = -1, -1
	// Edge-triggered on both directions, registered once: a task waits
	// only after a read or write found the socket not ready, and the
	// loop does not look at the event list while a task runs, so no edge
	// is missed and the registration never has to change.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	for fd >= len(l.conns) {
		l.conns = append(l.conns, nil)
	}
	l.conns[fd] = c
	l.registered++
	return c, nil
}

// Loop is the loop the connection belongs to.
func (c *Conn) Loop() *Loop { return c.loop }

// Read reads into b, waiting for data or the read deadline.
func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		if c.closed.Load() {
			return 0, c.opError("read", net.ErrClosed)
		}
		if !c.mayRead {
			if err := c.wait(&c.r); err != nil {
				return 0, c.opError("read", err)
			}
			continue
		}
		n, err := readNow(c.fd, b)
		switch {
		case err == nil && n > 0:
			// A short read took all the data the socket had.
			c.mayRead = n == len(b) || c.peerClosed
			c.loop.readDone()
			return n, nil
		case err == nil:
			return 0, io.EOF
		case err == unix.EINTR:
			continue
		case err != unix.EAGAIN:
			return 0, c.opError("read", os.NewSyscallError("read", err))
		}
		// Nothing to read: wait for the next event, as after a drain.
		c.mayRead = false
	}
}

// Write writes all of b, waiting for room or the write deadline.
func (c *Conn) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		if c.closed.Load() {
			return done, c.opError("write", net.ErrClosed)
		}
		n, err := writeNow(c.fd, b[done:])
		if n > 0 {
			done += n
		}
		switch {
		case err == nil, err == unix.EINTR:
			continue
		case err != unix.EAGAIN:
			return done, c.opError("write", os.NewSyscallError("write", err))
		}
		if err := c.wait(&c.w); err != nil {
			return done, c.opError("write", err)
		}
	}
	return done, nil
}

// wait parks the calling task until w's direction is ready, its deadline
// passes or the connection is closed.
func (c *Conn) wait(w *waiter) error {
	l := c.loop
	if l.cur == nil {
		return errNotOnLoop
	}
	// A deadline that passed since the loop last read the clock is caught
	// by the timers next round: reading the clock here on every wait
	// costs more than that round.
	if d := w.deadline.Load(); d != 0 && d <= l.now {
		return os.ErrDeadlineExceeded
	}
	switch l.park(w, 0) {
	case wokeTimeout:
		return os.ErrDeadlineExceeded
	case wokeClosed:
		return net.ErrClosed
	}
	return nil
}

func (c *Conn) opError(op string, err error) error {
	if err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// Close closes the connection. A task waiting on it is woken with
// net.ErrClosed; the socket is closed by the loop.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return c.opError("close", net.ErrClosed)
	}
	c.loop.post(func() { c.drop(true) })
	return nil
}

// drop takes the connection off the loop, wakes its waiters and closes the
// socket when closeFD is set. It runs on the loop.
func (c *Conn) drop(closeFD bool) {
	l := c.loop
	if c.fd < 0 {
		return
	}
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	l.conns[c.fd] = nil
	l.registered--
	if closeFD {
		unix.Close(c.fd)
	}
	c.fd = -1
	l.wake(&c.r, wokeClosed)
	l.wake(&c.w, wokeClosed)
	l.schedule(&c.r, 0)
	l.schedule(&c.w, 0)
}

// CloseWrite shuts down the sending side of the connection.
func (c *Conn) CloseWrite() error {
	if c.closed.Load() {
		return c.opError("close", net.ErrClosed)
	}
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		return c.opError("close", os.NewSyscallError("shutdown", err))
	}
	return nil
}

// LocalAddr is the connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the connection's peer address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.setDeadline(&c.r, t)
	c.setDeadline(&c.w, t)
	return nil
}

// SetReadDeadline sets the read deadline; a zero t means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.setDeadline(&c.r, t)
	return nil
}

// SetWriteDeadline sets the write deadline; a zero t means none.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.setDeadline(&c.w, t)
	return nil
}

func (c *Conn) setDeadline(w *waiter, t time.Time) {
	var d int64
	if !t.IsZero() {
		d = max(t.UnixNano(), 1)
	}
	w.deadline.Store(d)
	// Only a goroutine other than the task can find the task waiting.
	if w.waiting.Load() {
		c.loop.post(func() { c.loop.deadlineChanged(w) })
	}
}

// SyscallConn gives access to the socket for calls that do not wait
// (a peek for whether an idle connection is still open).
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	return rawConn{c}, nil
}

type rawConn struct{ c *Conn }

func (r rawConn) Control(f func(fd uintptr)) error {
	if r.c.closed.Load() {
		return net.ErrClosed
	}
	f(uintptr(r.c.fd))
	return nil
}

func (r rawConn) Read(f func(fd uintptr) bool) error  { return r.until(&r.c.r, f) }
func (r rawConn) Write(f func(fd uintptr) bool) error { return r.until(&r.c.w, f) }

// until calls f until it reports done, waiting on w between calls.
func (r rawConn) until(w *waiter, f func(fd uintptr) bool) error {
	for {
		if r.c.closed.Load() {
			return net.ErrClosed
		}
		if f(uintptr(r.c.fd)) {
			return nil
		}
		if err := r.c.wait(w); err != nil {
			return err
		}
	}
}

// Detach takes the connection off its loop and returns it as a connection
// of the runtime's network poller, with the same deadlines, for a task
// that hands the rest of its work to a goroutine. It must be called from a
// task of the connection's loop; c is closed afterwards.
func (c *Conn) Detach() (net.Conn, error) {
	if c.closed.Swap(true) {
		return nil, net.ErrClosed
	}
	fd := c.fd
	c.drop(false)
	f := os.NewFile(uintptr(fd), "evloop")
	nc, err := net.FileConn(f) // a duplicate, in the runtime's poller
	f.Close()
	if err != nil {
		return nil, err
	}
	if d := c.r.deadline.Load(); d != 0 {
		nc.SetReadDeadline(time.Unix(0, d))
	}
	if d := c.w.deadline.Load(); d != 0 {
		nc.SetWriteDeadline(time.Unix(0, d))
	}
	return nc, nil
}

// Dial connects to addr from a task of l; the connection is l's. It fails
// with a timeout error once deadline passes (zero: no deadline).
func (l *Loop) Dial(addr netip.AddrPort, deadline time.Time) (*Conn, error) {
	family := unix.AF_INET
	var sa unix.Sockaddr
	if addr.Addr().Is4() || addr.Addr().Is4In6() {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().Unmap().As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	}
	remote := net.TCPAddrFromAddrPort(addr)
	fail := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: remote, Err: err}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fail(os.NewSyscallError("socket", err))
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 30)
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 30)
	err = unix.Connect(fd, sa)
	if err != nil && err != unix.EINPROGRESS && err != unix.EINTR {
		unix.Close(fd)
		return nil, fail(os.NewSyscallError("connect", err))
	}
	c, rerr := l.register(fd, nil, remote)
	if rerr != nil {
		unix.Close(fd)
		return nil, fail(rerr)
	}
	if err != nil {
		c.w.deadline.Store(unixNano(deadline))
		werr := c.wait(&c.w)
		if werr == nil {
			var soerr int
			soerr, werr = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if werr == nil && soerr != 0 {
				werr = os.NewSyscallError("connect", syscall.Errno(soerr))
			}
		}
		c.w.deadline.Store(0)
		if werr != nil {
			c.closed.Store(true)
			c.drop(true)
			return nil, fail(werr)
		}
	}
	if sa, err := unix.Getsockname(fd); err == nil {
		c.local = sockaddrToTCP(sa)
	}
	return c, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

func sockaddrToTCP(sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	}
	return nil
}
