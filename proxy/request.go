package proxy

import (
	"crypto/tls"
	"math/rand/v2"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/router"
)

// serveRequest routes and forwards the request just read. It reports whether
// the connection may serve another request.
func (c *conn) serveRequest(snap *Snapshot, lc *ListenerConfig) bool {
	start := time.Now()
	req := &c.req
	matched := c.matched
	c.matched = routeMatch{}
	c.beginRecord(lc)
	if snap.Tracing != nil {
		c.startTrace(snap.Tracing)
	}
	if fe := c.precheck(lc); fe != nil {
		c.refuse(fe)
		c.finish(snap, lc, start, nil, nil, fe)
		return !c.closeAfter
	}
	in := router.Input{Host: req.Host, Path: req.Path, Query: req.Query, Method: req.Method, Headers: req}
	idx, ok := matched.idx, matched.ok
	if !matched.done {
		c.params.Reset()
		idx, ok = lc.Table.Match(&in, &c.params)
	}
	if !ok {
		fe := errNoRoute
		if lc.Table.MethodMismatch(&in) {
			fe = errMethodNotAllowed
		}
		c.refuse(fe)
		c.finish(snap, lc, start, nil, nil, fe)
		return !c.closeAfter
	}
	route := lc.Routes[idx]
	if route.Policies != nil {
		if fe := c.checkPolicies(snap, route); fe != nil {
			c.refuse(fe)
			c.finish(snap, lc, start, route, nil, fe)
			return !c.closeAfter
		}
	}
	be := pickBackend(route)
	svc := be.Service
	c.rec.Stats = be.Stats
	var fe *flow.Error
	if svc.Protocol == HTTP1 || (svc.Mesh && req.Upgrade != nil) {
		fe = c.forwardH1(snap, lc, route, svc, start)
	} else {
		fe = c.forwardH2(snap, lc, route, svc, start)
	}
	if fe != nil {
		if c.rec.Status == 0 {
			c.refuse(fe)
		} else {
			// The response had started: the only honest signal left is to
			// cut the connection.
			c.closeAfter = true
		}
	}
	c.finish(snap, lc, start, route, svc, fe)
	return !c.closeAfter && c.req.KeepAlive
}

var (
	errNoRoute          = flow.New(404, flow.CodeNoRoute, "no route matches the request")
	errMethodNotAllowed = flow.New(405, flow.CodeMethodNotAllowed, "the route does not allow this method")
	errBadPath          = flow.New(400, flow.CodeBadPath, "the request path must be absolute, free of dot-segments, with every '%' followed by two hex digits")
	errBodyTooLarge     = flow.New(413, flow.CodeBodyTooLarge, "the request body is larger than the listener allows")
	errConnect          = flow.New(405, flow.CodeMethodNotAllowed, "CONNECT is not supported on this listener")
	errUpgradeBody      = flow.New(400, flow.CodeBadRequest, "a request asking to upgrade the connection must not have a body")
)

// precheck refuses requests that no route may see.
func (c *conn) precheck(lc *ListenerConfig) *flow.Error {
	req := &c.req
	if string(req.Method) == "CONNECT" {
		return errConnect
	}
	if !cleanPath(req.Path) {
		return errBadPath
	}
	if req.ContentLength > lc.MaxBodyBytes {
		return errBodyTooLarge
	}
	if req.Upgrade != nil && (req.Chunked || req.ContentLength > 0) {
		// After a 101 the connection carries the new protocol; a body in
		// between would be read by both the body copy and the tunnel.
		return errUpgradeBody
	}
	if lc.Authorize != nil {
		return c.authorize(lc)
	}
	return nil
}

// authorize asks the listener's Authorize hook about the request, reading
// the client's certificates from the connection the first time.
func (c *conn) authorize(lc *ListenerConfig) *flow.Error {
	a := &c.acc
	if !c.peerKnown {
		c.peerKnown = true
		if tc, ok := c.nc.(*tls.Conn); ok {
			st := tc.ConnectionState()
			a.Peer = verifiedPeer(&st, lc.TLS)
		}
	}
	a.Method = methodString(c.req.Method)
	// Keep-alive clients tend to ask for the same path again: reuse the
	// string rather than allocate another.
	if string(c.req.Path) != a.Path {
		a.Path = string(c.req.Path)
	}
	ct, _ := c.req.Header("content-type")
	a.GRPC = flow.IsGRPC(ct)
	a.req = &c.req
	return authorized(lc.Authorize(a))
}

// refuse answers with fe. An unread request body would be taken for the
// next request, so the connection closes unless there is no body.
func (c *conn) refuse(fe *flow.Error) {
	if c.req.Chunked || c.req.ContentLength > 0 {
		c.closeAfter = true
		c.linger = true
	}
	c.writeError(fe)
	c.rec.Status = fe.Status
}

// cleanPath accepts absolute paths without dot-segments, literal or
// percent-encoded, so that no upstream resolves "/a/../admin" differently
// from how pylon routed it, and whose every '%' starts a percent-encoded
// octet (RFC 3986 section 2.1): upstreams refuse "/a%zz" or read it each
// their own way.
func cleanPath(p []byte) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	segStart := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			if p[i] == '%' && (i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2])) {
				return false
			}
			continue
		}
		if dotSegment(p[segStart:i]) {
			return false
		}
		segStart = i + 1
	}
	return true
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

// dotSegment reports whether seg is ".", "..", or an encoded form of them.
func dotSegment(seg []byte) bool {
	dots := 0
	for i := 0; i < len(seg); {
		switch {
		case seg[i] == '.':
			i++
		case i+2 < len(seg) && seg[i] == '%' && seg[i+1] == '2' && (seg[i+2] == 'e' || seg[i+2] == 'E'):
			i += 3
		default:
			return false
		}
		dots++
	}
	return dots == 1 || dots == 2
}

// pickBackend chooses the route's service, by weight when it splits.
func pickBackend(r *Route) *Backend {
	if len(r.Backends) == 1 || r.TotalWeight == 0 {
		return &r.Backends[0]
	}
	n := rand.Uint32N(r.TotalWeight)
	for i := range r.Backends {
		if n < r.Backends[i].Cumulative {
			return &r.Backends[i]
		}
	}
	return &r.Backends[len(r.Backends)-1]
}

// beginRecord starts the record of a new request on the connection.
func (c *conn) beginRecord(lc *ListenerConfig) {
	c.newRequestID()
	c.rec = Record{Stats: lc.Stats}
	c.done = time.Time{}
}

// finish reports the request to the snapshot's observer.
func (c *conn) finish(snap *Snapshot, lc *ListenerConfig, start time.Time, route *Route, svc *Service, fe *flow.Error) {
	if fe != nil && c.rec.Status == 0 {
		c.rec.Status = fe.Status
	}
	if c.done.IsZero() {
		c.done = time.Now()
	}
	if snap.Observer == nil {
		return
	}
	r := &c.rec
	r.Start = start
	r.Duration = c.done.Sub(start)
	r.RequestID = c.rid
	r.Listener = lc.Name
	r.Route = route
	r.Service = svc
	r.Proto = "HTTP/1.1"
	if c.req.Minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	r.Method = c.req.Method
	r.Host = c.req.Host
	r.Path = c.req.Path
	r.Remote = c.remote
	r.Err = fe
	r.Peer = nil
	if c.peerKnown {
		r.Peer = c.acc.Peer
	}
	snap.Observer.Observe(r)
}

// hashKey computes the affinity key of the request for hashing balancers.
func (c *conn) hashKey(svc *Service, trusted bool, snap *Snapshot) uint64 {
	switch svc.HashOn {
	case HashHeader:
		if v, ok := c.req.Header(svc.HashName); ok {
			return balancer.HashBytes(v)
		}
	case HashCookie:
		if v, ok := c.req.Header("cookie"); ok {
			if cv, ok := cookieValue(v, svc.HashName); ok {
				return balancer.HashBytes(cv)
			}
		}
	case HashClientIP:
		a := c.clientIP(trusted, snap)
		b := a.As16()
		return balancer.HashBytes(b[:])
	}
	return 0
}

// cookieValue finds a cookie's value in a Cookie header without allocating.
func cookieValue(h []byte, name string) ([]byte, bool) {
	for len(h) > 0 {
		for len(h) > 0 && (h[0] == ' ' || h[0] == ';') {
			h = h[1:]
		}
		end := 0
		for end < len(h) && h[end] != ';' {
			end++
		}
		pair := h[:end]
		h = h[end:]
		if len(pair) > len(name) && string(pair[:len(name)]) == name && pair[len(name)] == '=' {
			return pair[len(name)+1:], true
		}
	}
	return nil, false
}
