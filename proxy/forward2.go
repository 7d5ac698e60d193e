package proxy

import (
	"context"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/retry"
)

// forwardH2 forwards an HTTP/1.1 client's request to a service spoken to
// over HTTP/2 (h2c, h2, grpc).
func (c *conn) forwardH2(snap *Snapshot, lc *ListenerConfig, route *Route, svc *Service, start time.Time) *flow.Error {
	req := &c.req
	if !svc.Breaker.AcquireRequest() {
		return errCircuitOpen
	}
	defer svc.Breaker.ReleaseRequest()
	trusted := trustedPeer(c.remote.Addr(), snap.TrustedProxies)
	c.head = c.appendTarget(c.head[:0], route)
	if c.tryCtx == nil {
		c.tryCtx, c.tryCancel = context.WithCancel(c.s.cutCtx)
	}
	rq := &rtRequest{
		ctx:           c.tryCtx,
		method:        string(req.Method),
		target:        string(c.head),
		host:          string(req.Host),
		header:        c.httpHeader(route, trusted),
		contentLength: req.ContentLength,
		hash:          c.hashKey(svc, trusted, snap),
		idempotent:    retry.IdempotentMethod(req.Method),
		start:         start,
	}
	if len(route.Rewrite.Host) > 0 {
		rq.host = string(route.Rewrite.Host)
	}
	if req.Chunked || req.ContentLength > 0 {
		if req.Expect100 {
			c.nc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
		}
		body := &limitedBody{r: c.br.BodyReader(req.ContentLength, req.Chunked), max: lc.MaxBodyBytes}
		rq.body = body
		defer func() { c.rec.BytesIn = body.n.Load() }()
	}
	res, fe := roundTrip(route, svc, rq)
	if fe != nil {
		if c.s.pastDrainDeadline() {
			fe = errShuttingDown // the shutdown cancelled the try
		}
		if rq.body != nil {
			c.closeAfter = true
		}
		return fe
	}
	c.rec.Endpoint = res.ep.Addr()
	c.rec.Retries = res.retries
	o, fe := c.relayHTTP(res.resp, route)
	res.end(svc, o)
	return fe
}

// httpHeader converts the client's end-to-end headers for a RoundTripper.
func (c *conn) httpHeader(route *Route, trusted bool) http.Header {
	req := &c.req
	var xffBuf [64]byte
	xff := c.appendXFF(xffBuf[:0], trusted)
	proto, host := c.forwardedProto(trusted), c.forwardedHost(trusted)
	// Every name and value goes into one string, and every value slice
	// into one backing array: the header costs the map and two
	// allocations however many fields it has.
	size, n := len(xff)+len(proto)+len(host)+len(c.rid), 4
	for _, f := range req.Headers {
		if !skipRequestHeader(f.Name, req, trusted) {
			size += len(f.Name) + len(f.Value)
			n++
		}
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, f := range req.Headers {
		if !skipRequestHeader(f.Name, req, trusted) {
			sb.Write(f.Name)
			sb.Write(f.Value)
		}
	}
	sb.Write(xff)
	sb.Write(proto)
	sb.Write(host)
	sb.Write(c.rid)
	all := sb.String()
	vals := make([]string, n)
	h := make(http.Header, n)
	i, off := 0, 0
	take := func(size int) string {
		v := all[off : off+size]
		off += size
		return v
	}
	add := func(k, v string) {
		vals[i] = v
		if prev, ok := h[k]; ok {
			h[k] = append(prev, v)
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
		i++
	}
	for _, f := range req.Headers {
		if !skipRequestHeader(f.Name, req, trusted) {
			// Canonical names, the common case, are kept as they are.
			k := textproto.CanonicalMIMEHeaderKey(take(len(f.Name)))
			add(k, take(len(f.Value)))
		}
	}
	h["X-Forwarded-For"] = vals[i : i+1 : i+1]
	vals[i] = take(len(xff))
	h["X-Forwarded-Proto"] = vals[i+1 : i+2 : i+2]
	vals[i+1] = take(len(proto))
	if v := take(len(host)); v != "" {
		h["X-Forwarded-Host"] = vals[i+2 : i+3 : i+3]
		vals[i+2] = v
	}
	h["X-Request-Id"] = vals[i+3 : i+4 : i+4]
	vals[i+3] = take(len(c.rid))
	if c.rec.traced() {
		c.rec.setTraceHeaders(h)
	}
	applyOps(h, &route.RequestHeaders)
	if route.Policies != nil {
		applyOutcome(h, &c.outcome)
	}
	return h
}

// relayHTTP writes an http.Response to the HTTP/1.1 client.
func (c *conn) relayHTTP(resp *http.Response, route *Route) (balancer.Outcome, *flow.Error) {
	defer resp.Body.Close()
	req := &c.req
	c.rec.Status = resp.StatusCode
	noBody := resp.StatusCode == 204 || resp.StatusCode == 304 || string(req.Method) == "HEAD"
	known := resp.ContentLength >= 0 && len(resp.Trailer) == 0
	chunked := !noBody && !known && req.Minor == 1
	if (!noBody && !known && req.Minor == 0) || !req.KeepAlive || c.s.draining.Load() {
		c.closeAfter = true
	}
	applyOps(resp.Header, &route.ResponseHeaders)
	if route.Policies != nil {
		c.outcome.Limit.SetHeader(resp.Header)
	}
	h := h1.AppendStatusLine(c.out[:0], 1, resp.StatusCode, nil)
	for k, vv := range resp.Header {
		if hopByHopCanonical(k, resp.Header) || k == "Content-Length" || k == "X-Request-Id" {
			continue
		}
		for _, v := range vv {
			h = h1.AppendHeader(h, []byte(k), []byte(v))
		}
	}
	switch {
	case chunked:
		h = append(h, "Transfer-Encoding: chunked\r\n"...)
	case !noBody && known:
		h = appendContentLength(h, resp.ContentLength)
	}
	h = append(h, "X-Request-Id: "...)
	h = append(h, c.rid...)
	h = append(h, "\r\n"...)
	if c.closeAfter {
		h = append(h, "Connection: close\r\n"...)
	}
	h = append(h, "\r\n"...)
	c.out = h
	c.bw.Write(h)
	var w io.Writer = c.bw
	if chunked {
		c.cw.Reset(c.bw)
		w = &c.cw
	}
	if !noBody {
		bufp := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bufp)
		for {
			n, err := resp.Body.Read(*bufp)
			if n > 0 {
				c.rec.BytesOut += int64(n)
				if _, werr := w.Write((*bufp)[:n]); werr != nil || c.bw.Flush() != nil {
					c.closeAfter = true
					return balancer.Success, nil
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				c.closeAfter = true
				c.bw.Flush()
				return balancer.Reset, errUpstreamBody
			}
		}
	}
	if chunked {
		var tr []h1.Header
		for k, vv := range resp.Trailer {
			for _, v := range vv {
				tr = append(tr, h1.Header{Name: []byte(k), Value: []byte(v)})
			}
		}
		c.cw.Close(forwardableTrailers(nil, tr))
	}
	if err := c.bw.Flush(); err != nil {
		c.closeAfter = true
	}
	if resp.StatusCode >= 500 {
		return balancer.ServerError, nil
	}
	return balancer.Success, nil
}
