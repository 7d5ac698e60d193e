package proxy

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/policy"
	"github.com/pylon-mesh/pylon/router"
)

// h2Handler serves the requests of HTTP/2 client connections.
type h2Handler struct {
	s        *Server
	listener string
}

// headerView lets the router read an http.Header by lower-case name.
type headerView http.Header

// Header returns the first value of the named field.
func (h headerView) Header(name string) ([]byte, bool) {
	v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]
	if !ok || len(v) == 0 {
		return nil, false
	}
	return readOnlyBytes(v[0]), true
}

// readOnlyBytes is s as a byte slice without a copy, for code that only
// reads it (the router): writing to it is undefined behaviour.
func readOnlyBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// ServeHTTP routes and forwards one HTTP/2 request.
func (h *h2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.exchange(w, r, (*h2Exchange).serve)
}

// h2TooLarge answers the HTTP/2 requests whose header block was over the
// HTTP/2 server's own limit (1 MiB decoded, above any max_header_bytes),
// as checkLimits answers those over the listener's: 431 with pylon's
// error body, logged and counted.
type h2TooLarge struct{ *h2Handler }

// ServeHTTP refuses the request.
func (h h2TooLarge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.exchange(w, r, func(x *h2Exchange) { x.fail(errH2TooLarge) })
}

// exchange runs serve on one request's exchange, logging and counting it
// however serve ends.
func (h *h2Handler) exchange(w http.ResponseWriter, r *http.Request, serve func(*h2Exchange)) {
	start := time.Now()
	snap := h.s.snap.Load()
	lc := snap.Listeners[h.listener]
	if lc == nil {
		panic(http.ErrAbortHandler)
	}
	x := &h2Exchange{h: h, w: w, r: r, snap: snap, lc: lc, start: start}
	x.rid = requestID(r.Header.Get("X-Request-Id"))
	x.grpc = flow.IsGRPC([]byte(r.Header.Get("Content-Type")))
	x.rec.Proto = "HTTP/2.0"
	x.rec.Stats = lc.Stats
	// finish runs even when the stream is aborted (a panic with
	// http.ErrAbortHandler), so every request is logged and counted.
	defer x.finish()
	serve(x)
	// The client has the end of its response before finish's
	// bookkeeping (metrics, the access log), not after.
	if e, ok := w.(streamEnder); ok {
		e.EndStream()
	}
}

// streamEnder is h2server's ResponseWriter, which can end the response
// before the handler returns.
type streamEnder interface{ EndStream() }

// h2Exchange is one HTTP/2 request on its way through pylon.
type h2Exchange struct {
	h     *h2Handler
	w     http.ResponseWriter
	r     *http.Request
	snap  *Snapshot
	lc    *ListenerConfig
	start time.Time
	rid   string
	// ridField is rid as a header value, shared by the request sent
	// upstream and the response (read-only: capped at its one value).
	ridField []string
	rec      Record
	route    *Route
	svc      *Service
	// grpc is set for gRPC requests (content-type application/grpc...).
	grpc bool
	// acc is what the listener's Authorize hook and the route's policies
	// see; outcome is what the policies found.
	acc     Access
	outcome policy.Outcome
	// rq is the request sent upstream, kept here to save an allocation.
	rq rtRequest
}

// requestID keeps a sane client-supplied ID or makes a new one.
func requestID(v string) string {
	if validRequestID([]byte(v)) {
		return v
	}
	var buf [32]byte
	return string(appendNewRequestID(buf[:0]))
}

func (x *h2Exchange) serve() {
	r := x.r
	if r.Method == http.MethodConnect {
		x.serveConnect()
		return
	}
	if x.snap.Tracing != nil {
		x.startTrace(x.snap.Tracing)
	}
	path, query, _ := strings.Cut(r.RequestURI, "?")
	if !cleanPath([]byte(path)) {
		x.fail(errBadPath)
		return
	}
	if r.ContentLength > x.lc.MaxBodyBytes {
		x.fail(errBodyTooLarge)
		return
	}
	if fe := x.checkLimits(); fe != nil {
		x.fail(fe)
		return
	}
	if fe := x.authorize(path); fe != nil {
		x.fail(fe)
		return
	}
	in := router.Input{Host: readOnlyBytes(r.Host), Path: readOnlyBytes(path), Query: readOnlyBytes(query), Method: readOnlyBytes(r.Method), Headers: headerView(r.Header)}
	var params router.Params
	idx, ok := x.lc.Table.Match(&in, &params)
	if !ok {
		if x.lc.Table.MethodMismatch(&in) {
			x.fail(errMethodNotAllowed)
		} else {
			x.fail(errNoRoute)
		}
		return
	}
	x.route = x.lc.Routes[idx]
	trusted := trustedPeer(remoteOf(r).Addr(), x.snap.TrustedProxies)
	if x.route.Policies != nil {
		if fe := x.checkPolicies(query, trusted); fe != nil {
			x.fail(fe)
			return
		}
		if x.outcome.StripQuery != "" {
			query = withoutQueryParam(query, x.outcome.StripQuery)
		}
	}
	be := pickBackend(x.route)
	x.svc = be.Service
	x.rec.Stats = be.Stats
	if !x.svc.Breaker.AcquireRequest() {
		x.fail(errCircuitOpen)
		return
	}
	defer x.svc.Breaker.ReleaseRequest()
	ctx := r.Context()
	if d, ok := grpcTimeout(r.Header.Get("Grpc-Timeout")); ok && x.grpc {
		// The client's deadline holds here too: an upstream that ignores it
		// is cut off, and the client gets DEADLINE_EXCEEDED from pylon.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	x.rq = rtRequest{
		ctx:           ctx,
		method:        r.Method,
		target:        rewriteTarget(x.route, path, query, &params),
		host:          r.Host,
		header:        x.outHeader(trusted),
		contentLength: r.ContentLength,
		idempotent:    idempotent(r.Method),
		start:         x.start,
		hash:          hashHTTP(x.svc, r, trusted, x.snap),
	}
	rq := &x.rq
	if len(x.route.Rewrite.Host) > 0 {
		rq.host = string(x.route.Rewrite.Host)
	}
	var body *limitedBody
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		body = &limitedBody{r: r.Body, max: x.lc.MaxBodyBytes, stop: r.Body}
		rq.body = body
		rq.stopBody = r.Body
		defer func() { x.rec.BytesIn = body.n.Load() }()
	}
	res, fe := roundTrip(x.route, x.svc, rq)
	if fe != nil {
		if x.h.s.pastDrainDeadline() {
			// The shutdown closed the client's connection, which ended
			// the try; the client did not go away by itself.
			fe = errShuttingDown
		}
		x.fail(fe)
		return
	}
	x.rec.Endpoint = res.ep.Addr()
	x.rec.Retries = res.retries
	o, abort := x.relay(ctx, res.resp)
	res.end(x.svc, o)
	if abort {
		// Cut the client's stream rather than end it cleanly: a truncated
		// body must not look complete.
		panic(http.ErrAbortHandler)
	}
}

var (
	errH2URITooLong = flow.New(414, flow.CodeURITooLong, "the request-target is longer than the listener allows")
	errH2TooMany    = flow.New(431, flow.CodeHeadersTooLarge, "the request has more header fields than the listener allows")
	errH2TooLarge   = flow.New(431, flow.CodeHeadersTooLarge, "the request head is larger than the listener allows")
)

// checkLimits applies the listener's head limits to an HTTP/2 request, as
// the HTTP/1.1 codec does to its requests. (The HTTP/2 server also bounds
// the header block it decodes, at 1 MiB: h2TooLarge.)
func (x *h2Exchange) checkLimits() *flow.Error {
	r, lim := x.r, &x.lc.Limits
	if len(r.RequestURI) > lim.MaxURIBytes {
		return errH2URITooLong
	}
	size, count := len(r.RequestURI)+len(r.Host)+len(r.Method), 0
	for k, vv := range r.Header {
		for _, v := range vv {
			size += len(k) + len(v) + 4
			count++
		}
	}
	if count > lim.MaxHeaders {
		return errH2TooMany
	}
	if size > lim.MaxHeaderBytes {
		return errH2TooLarge
	}
	return nil
}

// outHeader is the header sent upstream: the client's end-to-end fields
// with the forwarding headers, request ID and the route's edits.
func (x *h2Exchange) outHeader(trusted bool) http.Header {
	r := x.r
	out := make(http.Header, len(r.Header)+4)
	for k, vv := range r.Header {
		if hopByHopCanonical(k, r.Header) {
			if k == "Te" && len(vv) == 1 && vv[0] == "trailers" {
				out[k] = vv
			}
			continue
		}
		switch k {
		case "X-Request-Id", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", policy.ConsumerHeader:
			continue
		case "Forwarded":
			if !trusted {
				continue
			}
		}
		out[k] = vv
	}
	peer := remoteOf(r).Addr().Unmap().String()
	if prior := r.Header.Get("X-Forwarded-For"); trusted && prior != "" {
		peer = prior + ", " + peer
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); trusted && p != "" {
		proto = p
	}
	fh := r.Host
	if v := r.Header.Get("X-Forwarded-Host"); trusted && v != "" {
		fh = v
	}
	// One array for the four one-value fields; each slice is capped at
	// its element, so that an edit appending to one copies it.
	vals := [...]string{peer, proto, fh, x.rid}
	out["X-Forwarded-For"] = vals[0:1:1]
	out["X-Forwarded-Proto"] = vals[1:2:2]
	out["X-Forwarded-Host"] = vals[2:3:3]
	x.ridField = vals[3:4:4]
	out["X-Request-Id"] = x.ridField
	if x.rec.traced() {
		x.rec.setTraceHeaders(out)
	}
	applyOps(out, &x.route.RequestHeaders)
	if x.route.Policies != nil {
		applyOutcome(out, &x.outcome)
	}
	return out
}

// relay streams the upstream's response to the client, trailers included.
// abort reports that the body broke off and the stream must be reset.
func (x *h2Exchange) relay(ctx context.Context, resp *http.Response) (o balancer.Outcome, abort bool) {
	defer resp.Body.Close()
	dst := x.w.Header()
	for k, vv := range resp.Header {
		if hopByHopCanonical(k, resp.Header) || k == "X-Request-Id" {
			continue
		}
		dst[k] = vv
	}
	applyOps(dst, &x.route.ResponseHeaders)
	if x.route.Policies != nil {
		x.outcome.Limit.SetHeader(dst)
	}
	dst["X-Request-Id"] = x.ridField
	x.w.WriteHeader(resp.StatusCode)
	x.rec.Status = resp.StatusCode
	rc := http.NewResponseController(x.w)
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			x.rec.BytesOut += int64(n)
			if _, werr := x.w.Write(buf[:n]); werr != nil {
				return balancer.Success, false
			}
			if err == nil {
				// The last piece goes out with the end of the stream,
				// in one write, when the handler returns.
				rc.Flush()
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if x.grpc && deadlinePassed(ctx) {
				// The gRPC deadline passed mid-stream: end the call with
				// the status the client would have reached itself.
				fe := errUpTimeout
				x.rec.Err = fe
				dst[http.TrailerPrefix+"Grpc-Status"] = []string{strconv.Itoa(fe.GRPCStatus())}
				dst[http.TrailerPrefix+"Grpc-Message"] = []string{fe.GRPCMessage([]byte(x.rid))}
				return balancer.Timeout, false
			}
			if x.grpc && ctx.Err() == nil {
				// The upstream went away mid-call: end the call with
				// UNAVAILABLE, which a gRPC client may retry, rather than
				// a reset it reads as INTERNAL.
				fe := errUpstreamBody
				x.rec.Err = fe
				dst[http.TrailerPrefix+"Grpc-Status"] = []string{strconv.Itoa(fe.GRPCStatus())}
				dst[http.TrailerPrefix+"Grpc-Message"] = []string{fe.GRPCMessage([]byte(x.rid))}
				return balancer.Reset, false
			}
			return balancer.Reset, true
		}
	}
	for k, vv := range resp.Trailer {
		dst[http.TrailerPrefix+k] = vv
	}
	if resp.StatusCode >= 500 {
		return balancer.ServerError, false
	}
	return balancer.Success, false
}

// grpcTimeout parses a grpc-timeout value: 1 to 8 digits and a unit (H, M,
// S, m, u, n), per gRPC's HTTP/2 protocol spec.
func grpcTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// fail answers the request with pylon's own error: a JSON body, or for gRPC
// clients a trailers-only response with the matching gRPC status.
func (x *h2Exchange) fail(fe *flow.Error) {
	x.rec.Err = fe
	x.rec.Status = fe.Status
	h := x.w.Header()
	h["X-Request-Id"] = []string{x.rid}
	for _, f := range fe.Header {
		h[f.Name] = append(h[f.Name], f.Value)
	}
	if x.grpc {
		h["Content-Type"] = []string{"application/grpc"}
		h["Grpc-Status"] = []string{strconv.Itoa(fe.GRPCStatus())}
		h["Grpc-Message"] = []string{fe.GRPCMessage([]byte(x.rid))}
		x.w.WriteHeader(200)
		return
	}
	status := fe.Status
	if status == 499 {
		status = 400
	}
	body := fe.AppendJSON(nil, []byte(x.rid))
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	x.w.WriteHeader(status)
	if n, err := x.w.Write(body); err == nil && x.r.Context().Err() == nil {
		x.rec.BytesOut = int64(n) // a client that went away got nothing
	}
}

// finish reports the request to the observer.
func (x *h2Exchange) finish() {
	if x.snap.Observer == nil {
		return
	}
	r := &x.rec
	r.Start = x.start
	r.Duration = time.Since(x.start)
	r.RequestID = []byte(x.rid)
	r.Listener = x.lc.Name
	r.Route = x.route
	r.Service = x.svc
	r.Method = []byte(x.r.Method)
	r.Host = []byte(x.r.Host)
	r.Path = []byte(x.r.URL.Path)
	r.Remote = remoteOf(x.r)
	r.Peer = x.acc.Peer
	x.snap.Observer.Observe(r)
}

// limitedBody fails a request body that grows beyond max. The transport
// reads it on its own goroutine and may wrap the error, so going over the
// limit is also recorded in over for the caller to check.
type limitedBody struct {
	r   io.Reader
	max int64
	// stop, when set, is closed by Close: the client's HTTP/2 body, whose
	// blocked read the transport must be able to wake.
	stop io.Closer
	// n counts the bytes read; the handler reads it when it ends, while
	// the transport's goroutine may still be in a last Read.
	n    atomic.Int64
	over atomic.Bool
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.n.Add(int64(n)) > l.max {
		l.over.Store(true)
		return n, errBodyTooLarge
	}
	return n, err
}

// Close closes stop, if set; a transport closes its request body when it
// is done with it.
func (l *limitedBody) Close() error {
	if l.stop != nil {
		return l.stop.Close()
	}
	return nil
}

// remoteOf parses the peer address of an http.Request.
func remoteOf(r *http.Request) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return ap
}
