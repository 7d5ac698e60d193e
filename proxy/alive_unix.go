//go:build unix

package proxy

import (
	"crypto/tls"
	"net"
	"syscall"
)

// alive reports whether an idle upstream connection still looks usable:
// the peer has not closed it and sent nothing unasked. It peeks at the
// socket without blocking (one recv with MSG_PEEK|MSG_DONTWAIT), so a
// connection the upstream closed while idle is found before a request is
// written to it, when it is still safe to dial again.
func alive(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = true
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			ok = true // nothing to read: idle and open
		case err != nil, n == 0:
			ok = false // reset, or closed by the peer (EOF)
		default:
			ok = false // bytes nobody asked for: not a clean idle connection
		}
		return true
	})
	return err == nil && ok
}
