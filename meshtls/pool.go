package meshtls

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"time"

	"github.com/pylon-mesh/pylon/h2client"
)

// dialTimeout bounds a dial as a whole: TCP connect, TLS handshake and
// the HTTP/2 preface.
const dialTimeout = 15 * time.Second

// host is the connections of a Pool to one destination address. Its fields
// are guarded by Pool.mu.
type host struct {
	conns   []*conn   // open and taking requests (not draining)
	dialing *dialCall // the dial in progress, if any
}

// dialCall is one dial, shared by the requests waiting for it.
type dialCall struct {
	done chan struct{} // closed when the dial is over
	err  error         // why it failed; set before done is closed
}

// get returns a connection to addr with a stream reserved for one
// request, dialing one when none can take it.
func (p *Pool) get(ctx context.Context, addr string) (*conn, error) {
	for {
		p.mu.Lock()
		h := p.hosts[addr]
		if h == nil {
			h = &host{}
			p.hosts[addr] = h
		}
		if c := h.reserveLocked(); c != nil {
			p.mu.Unlock()
			return c, nil
		}
		d := h.dialing
		if d == nil {
			d = &dialCall{done: make(chan struct{})}
			h.dialing = d
			go p.dial(ctx, addr, d)
		}
		p.mu.Unlock()
		select {
		case <-d.done:
			if d.err != nil {
				return nil, d.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// reserveLocked reserves a stream on one of h's connections, the oldest
// that has one free; nil if none has.
func (h *host) reserveLocked() *conn {
	for _, c := range h.conns {
		if c.cc.Reserve() == nil {
			return c
		}
	}
	return nil
}

// dial opens a connection to addr for d and pools it. It outlives the
// request that started it (whose values, like its httptrace, it keeps),
// since others may be waiting for it.
func (p *Pool) dial(ctx context.Context, addr string, d *dialCall) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dialTimeout)
	defer cancel()
	var cc *h2client.Conn
	var tc *tls.Conn
	nc, err := p.dialTLS(ctx, addr)
	if err == nil {
		tc = nc.(*tls.Conn)
		cc, err = h2client.New(nc, h2client.Config{})
	}
	p.mu.Lock()
	h := p.hosts[addr]
	if h == nil {
		h = &host{}
		p.hosts[addr] = h
	}
	h.dialing = nil
	var c *conn
	if err != nil {
		d.err = fmt.Errorf("mesh: connect to %s: %w", addr, err)
		p.forgetLocked(addr, h)
	} else {
		c = newConn(p, addr, cc, tc)
		h.conns = append(h.conns, c)
	}
	p.mu.Unlock()
	close(d.done)
	if c != nil {
		cc.SetStateHook(c.changed)
	}
}

// unlist takes c out of its host's connections, so that no request is
// sent on it any more. It may be called more than once.
func (p *Pool) unlist(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hosts[c.addr]
	if h == nil {
		return
	}
	if i := slices.Index(h.conns, c); i >= 0 {
		h.conns = slices.Delete(h.conns, i, i+1)
	}
	p.forgetLocked(c.addr, h)
}

// forgetLocked drops h, the host of addr, once it has no connection and
// no dial.
func (p *Pool) forgetLocked(addr string, h *host) {
	if len(h.conns) == 0 && h.dialing == nil {
		delete(p.hosts, addr)
	}
}
