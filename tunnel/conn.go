package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// errWriteClosed is returned by Write after CloseWrite.
var errWriteClosed = errors.New("tunnel: write after CloseWrite")

// conn is the caller's end of a tunnel: Read reads the CONNECT response's
// body, Write writes its request body.
type conn struct {
	body   *bodyPipe
	resp   *bodyReader
	cancel context.CancelFunc // ends the HTTP/2 stream
	local  net.Addr
	remote net.Addr

	closeOnce sync.Once
}

func (c *conn) Read(b []byte) (int, error) { return c.resp.read(b) }

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.body.write(b)
	if errors.Is(err, net.ErrClosed) && !isClosed(c.resp.closed) {
		err = errWriteClosed
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		err = &net.OpError{Op: "write", Net: network, Source: c.local, Addr: c.remote, Err: err}
	}
	return n, err
}

// CloseWrite ends the caller's direction (END_STREAM); the remote side
// sees EOF and the caller can still read its answer.
func (c *conn) CloseWrite() error {
	c.body.closeWrite(io.EOF)
	return nil
}

// Close ends both directions and resets the stream if it is still open.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.body.closeWrite(net.ErrClosed)
		c.resp.close()
		c.cancel()
	})
	return nil
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) SetDeadline(t time.Time) error {
	c.resp.dl.set(t)
	c.body.wdl.set(t)
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.resp.dl.set(t)
	return nil
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.body.wdl.set(t)
	return nil
}

// network is the Network of a tunnel's fallback addresses.
const network = "hbone"

// Addr is a tunnel end's address when the pooled connection's is unknown:
// the sidecar's endpoint and the destination asked of it.
type Addr struct {
	Endpoint string // the remote sidecar, host:port
	Target   string // the destination, the CONNECT :authority
}

// Network returns "hbone".
func (a Addr) Network() string { return network }

// String returns the target and the endpoint, as "target@endpoint".
func (a Addr) String() string { return a.Target + "@" + a.Endpoint }
