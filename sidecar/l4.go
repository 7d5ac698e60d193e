package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/tunnel"
)

// l4IdleTimeout ends a TCP stream through the mesh in which no byte moved
// either way for this long.
const l4IdleTimeout = time.Hour

// l4Upstream carries the TCP connections of one upstream: each is spliced
// with a tunnel (an HTTP/2 CONNECT stream over the mesh's pooled mTLS
// connections) to the least busy of two endpoints chosen at random.
type l4Upstream struct {
	name      string
	transport http.RoundTripper
	edges     *edgeMetrics
	log       *slog.Logger

	mu        sync.Mutex
	endpoints []string
	active    map[string]*atomic.Int64
}

func newL4Upstream(name string, transport http.RoundTripper, edges *edgeMetrics, log *slog.Logger) *l4Upstream {
	return &l4Upstream{name: name, transport: transport, edges: edges, log: log.With("upstream", name), active: map[string]*atomic.Int64{}}
}

// setEndpoints replaces the mesh endpoints connections may go to.
func (u *l4Upstream) setEndpoints(eps []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.endpoints = eps
	for _, e := range eps {
		if u.active[e] == nil {
			u.active[e] = new(atomic.Int64)
		}
	}
}

// handle tunnels one app connection, trying up to three endpoints.
func (u *l4Upstream) handle(ctx context.Context, c net.Conn) {
	tried := map[string]bool{}
	for range 3 {
		ep, active := u.pick(tried)
		if ep == "" {
			break
		}
		tried[ep] = true
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		tc, err := tunnel.Dial(dctx, u.transport, ep, u.name)
		cancel()
		if err != nil {
			u.log.Warn("tunnel to an instance failed; trying another", "endpoint", ep, "err", err.Error())
			continue
		}
		u.edges.tcpOpened(u.name)
		active.Add(1)
		in, out, err := tunnel.Splice(c, tc, l4IdleTimeout)
		active.Add(-1)
		u.edges.tcpClosed(u.name, in, out)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			u.log.Debug("tunnel ended", "endpoint", ep, "bytes_in", in, "bytes_out", out, "err", err.Error())
		}
		return
	}
	u.log.Warn("no instance of the upstream could be reached; closing the connection")
	c.Close()
}

// pick chooses the less busy of two random endpoints not yet tried.
func (u *l4Upstream) pick(tried map[string]bool) (string, *atomic.Int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var cands []string
	for _, e := range u.endpoints {
		if !tried[e] {
			cands = append(cands, e)
		}
	}
	if len(cands) == 0 {
		return "", nil
	}
	a := cands[rand.IntN(len(cands))]
	if b := cands[rand.IntN(len(cands))]; u.active[b].Load() < u.active[a].Load() {
		a = b
	}
	return a, u.active[a]
}
