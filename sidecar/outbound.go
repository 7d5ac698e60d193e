package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/snapshot"
)

// upstream is one service the app calls: the protocol the control plane
// last said it speaks, and the tunnels that carry its TCP connections.
type upstream struct {
	name     string
	protocol atomic.Pointer[string]
	l4       *l4Upstream
}

func (u *upstream) setProtocol(p string) { u.protocol.Store(&p) }

func (u *upstream) currentProtocol() string {
	if p := u.protocol.Load(); p != nil {
		return *p
	}
	return snapshot.ProtocolAuto
}

// upstreamListener is an upstream's loopback listener. The data plane
// accepts on it and gets the connections that carry HTTP; the others are
// tunnelled to the upstream by its l4Upstream: all of them when the
// upstream speaks TCP, those detection does not take for HTTP when its
// protocol is auto.
type upstreamListener struct {
	net.Listener
	up    *upstream
	ctx   context.Context
	log   *slog.Logger
	conns chan net.Conn
	done  chan struct{}
	err   error // why accepting stopped; set before done closes

	closeOnce sync.Once
	closing   chan struct{}
}

// listenUpstream opens addr for up and starts accepting on it; ctx bounds
// the TCP streams.
func listenUpstream(ctx context.Context, addr string, up *upstream, log *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	o := &upstreamListener{Listener: ln, up: up, ctx: ctx, log: log.With("upstream", up.name),
		conns: make(chan net.Conn), done: make(chan struct{}), closing: make(chan struct{})}
	go o.run()
	return o, nil
}

// Accept returns the next HTTP connection.
func (o *upstreamListener) Accept() (net.Conn, error) {
	select {
	case c := <-o.conns:
		return c, nil
	case <-o.done:
		return nil, o.err
	}
}

// Close stops accepting; connections being detected are closed rather
// than handed over.
func (o *upstreamListener) Close() error {
	o.closeOnce.Do(func() { close(o.closing) })
	return o.Listener.Close()
}

func (o *upstreamListener) run() {
	for {
		c, err := o.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, net.ErrClosed) {
				time.Sleep(5 * time.Millisecond) // out of descriptors: let some close
				continue
			}
			o.err = err
			close(o.done)
			return
		}
		switch o.up.currentProtocol() {
		case snapshot.ProtocolTCP:
			go o.up.l4.handle(o.ctx, c)
		case snapshot.ProtocolAuto:
			go o.detect(c)
		default:
			o.deliver(c)
		}
	}
}

// detect sends a connection of an auto upstream where its first bytes say.
func (o *upstreamListener) detect(c net.Conn) {
	rc, kind, err := detect(c, detectTimeout)
	if err != nil {
		c.Close()
		return
	}
	if kind == kindHTTP {
		o.deliver(rc)
		return
	}
	o.log.Debug("detected TCP on a connection to an upstream of protocol auto")
	o.up.l4.handle(o.ctx, rc)
}

// deliver hands a connection to the data plane's accept loop.
func (o *upstreamListener) deliver(c net.Conn) {
	select {
	case o.conns <- c:
	case <-o.closing:
		c.Close()
	}
}
