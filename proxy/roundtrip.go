package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/retry"
)

// rtRequest is a request forwarded through a service's RoundTripper (every
// request to an HTTP/2 service) or, for HTTP/2 clients' requests to an
// HTTP/1.1 service, over the endpoint's Pool (see tryPool).
type rtRequest struct {
	ctx    context.Context
	method string
	target string
	host   string
	header http.Header
	// body is nil when the request has none.
	body io.Reader
	// stopBody, when set, closes the client's body, waking a read of it
	// that is blocked (an upload cut short).
	stopBody      io.Closer
	contentLength int64
	hash          uint64
	idempotent    bool
	start         time.Time
}

// rtResult is a response head from the upstream, with what is needed to
// close the books on it once its body is relayed.
type rtResult struct {
	resp    *http.Response
	ep      *balancer.Endpoint
	began   time.Time
	retries int
	cancel  context.CancelFunc
}

// end reports the outcome of the relayed response and frees its context.
func (r *rtResult) end(svc *Service, o balancer.Outcome) {
	now := time.Now()
	r.ep.End(o, now.Sub(r.began), now)
	if svc.Outlier != nil {
		svc.Outlier.Observe(r.ep, now)
	}
	r.cancel()
}

// roundTrip sends rq to the service, retrying as the route allows, and
// returns the first response head it will relay.
func roundTrip(route *Route, svc *Service, rq *rtRequest) (*rtResult, *flow.Error) {
	svc.Budget.Request(rq.start)
	var deadline time.Time
	if route.Timeout > 0 {
		deadline = rq.start.Add(route.Timeout)
	}
	replayable := rq.body == nil && (route.Retry.NonIdempotent || rq.idempotent)
	// An HTTP/1.1 service takes the requests over its endpoints' pools;
	// the others through the RoundTripper, which wants a URL.
	var u *url.URL
	if svc.Protocol == HTTP1 {
		if fe := checkWire(rq); fe != nil {
			return nil, fe
		}
	} else {
		var err error
		if u, err = rtURL(svc, rq.target); err != nil {
			return nil, flow.Wrap(400, flow.CodeBadPath, "the request target is not a valid URI", err)
		}
	}
	retries := 0
	var t Tried
	for n := 0; ; n++ {
		ep, err := PickOther(svc.Set, rq.hash, &t)
		if err != nil {
			return nil, errNoHealthy
		}
		t.Add(ep)
		mayRetry := n < route.Retry.Attempts && (deadline.IsZero() || time.Now().Before(deadline))
		var res *rtResult
		var fe *flow.Error
		var cond retry.Condition
		if u == nil {
			res, fe, cond = tryPool(route, svc, rq, ep, deadline, mayRetry && replayable)
		} else {
			u.Host = ep.Addr()
			res, fe, cond = tryRT(route, svc, rq, ep, u, deadline, mayRetry && replayable)
		}
		if fe == nil {
			res.retries = retries
			return res, nil
		}
		if !mayRetry || cond == 0 || !retryable(&route.Retry, cond, replayable) {
			return nil, fe
		}
		if refused := waitRetry(route, svc, n, cond, deadline, time.Sleep); refused != "" {
			return nil, noRetry(fe, refused)
		}
		retries++
	}
}

// rtURL parses an origin-form target into the URL a RoundTripper is given.
func rtURL(svc *Service, target string) (*url.URL, error) {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	u.Scheme = "http"
	if svc.Protocol == H2 || svc.TLS {
		u.Scheme = "https"
	}
	return u, nil
}

// tryRT makes one try on one endpoint. The wait for the response head is
// bounded by the route's deadline and per-try timeout; the body is not.
func tryRT(route *Route, svc *Service, rq *rtRequest, ep *balancer.Endpoint, u *url.URL, deadline time.Time, retryStatus bool) (*rtResult, *flow.Error, retry.Condition) {
	cctx, cancel := context.WithCancel(rq.ctx)
	ctx := &tryContext{Context: cctx}
	headDeadline := deadline
	if pt := route.Retry.PerTryTimeout; pt > 0 {
		if d := time.Now().Add(pt); headDeadline.IsZero() || d.Before(headDeadline) {
			headDeadline = d
		}
	}
	var timer *time.Timer
	if !headDeadline.IsZero() {
		timer = time.AfterFunc(time.Until(headDeadline), func() { ctx.timedOut.Store(true); cancel() })
	}
	target := *u
	out := (&http.Request{
		Method:        rq.method,
		URL:           &target,
		Host:          rq.host,
		Header:        rq.header,
		ContentLength: rq.contentLength,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
	}).WithContext(ctx)
	if rq.body != nil {
		// The transport closes the body it is given once it is sent, or
		// when the stream ends first (the upstream's connection died): a
		// streaming call's body read must then be woken, or the transport
		// never lets go of the stream and its response never ends. A
		// limitedBody closes the client's HTTP/2 body (stopBody) then.
		if rc, ok := rq.body.(io.ReadCloser); ok {
			out.Body = rc
		} else {
			out.Body = io.NopCloser(rq.body)
		}
	}
	ep.Begin()
	began := time.Now()
	resp, err := svc.RT.RoundTrip(out)
	if timer != nil {
		timer.Stop()
	}
	end := func(o balancer.Outcome) {
		now := time.Now()
		ep.End(o, now.Sub(began), now)
		if svc.Outlier != nil {
			svc.Outlier.Observe(ep, now)
		}
	}
	if err != nil {
		cancel()
		if lb, ok := rq.body.(*limitedBody); ok && lb.over.Load() {
			// The client's body outgrew the limit: its fault, not the
			// upstream's.
			ep.Cancel()
			return nil, errBodyTooLarge, 0
		}
		switch {
		case ctx.timedOut.Load():
			end(balancer.Timeout)
			return nil, errUpTimeout, 0
		case deadlinePassed(rq.ctx):
			// The gRPC deadline pylon enforces for the client.
			end(balancer.Timeout)
			return nil, errUpTimeout, 0
		case rq.ctx.Err() != nil:
			ep.Cancel()
			return nil, flow.Wrap(499, flow.CodeBadRequest, "the client went away", err), 0
		case isDialError(err):
			end(balancer.ConnectFailure)
			return nil, flow.Wrap(502, flow.CodeUpstreamConnectFailed, "could not connect to the upstream", err), retry.ConnectFailure
		}
		end(balancer.Reset)
		return nil, flow.Wrap(502, flow.CodeUpstreamReset, "the upstream failed the request", err), retry.Reset
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		// RFC 9110 15: a status is three digits, 1xx to 5xx. net/http's
		// HTTP/2 transport takes any integer (":status: -21"), which no
		// client could be given.
		resp.Body.Close()
		cancel()
		end(balancer.Reset)
		return nil, flow.New(502, flow.CodeUpstreamProtocolError, "the upstream sent a malformed response: status "+strconv.Itoa(resp.StatusCode)), 0
	}
	if retryStatus && route.Retry.RetryableStatus(resp.StatusCode) && svc.Budget.TryRetry(time.Now()) {
		resp.Body.Close()
		cancel()
		end(balancer.ServerError)
		return nil, errKeptFailing, condStatus
	}
	return &rtResult{resp: resp, ep: ep, began: began, cancel: cancel}, nil, 0
}

// deadlinePassed reports whether ctx's deadline has passed, whether or not
// its timer has fired yet: an upstream given the same deadline (a gRPC
// server told by grpc-timeout) may reset the stream a moment before
// pylon's own timer runs, and the client is owed DEADLINE_EXCEEDED, not
// a reset.
func deadlinePassed(ctx context.Context) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// tryContext is the context of one try through a RoundTripper: the try's
// own cancelable context, whether the try's deadline ended it, and how
// many connections the transport has dialed for it (DialsOfTry).
type tryContext struct {
	context.Context
	timedOut atomic.Bool
	dials    atomic.Int32
}

// dialsKey is the context key under which a tryContext gives its count.
type dialsKey struct{}

// Value answers dialsKey with the try's dial count; every other key is
// the parent's.
func (c *tryContext) Value(key any) any {
	if key == (dialsKey{}) {
		return &c.dials
	}
	return c.Context.Value(key)
}

// DialsOfTry returns the count of connections dialed for the try whose
// context ctx is or derives from (a transport keeps the request's context
// values when it dials), or nil outside a try. A service's dialer bounds
// it: a transport that finds each new connection unusable (an upstream
// that sends GOAWAY on every connection before any stream) would
// otherwise dial again at once, for as long as the try lasts.
func DialsOfTry(ctx context.Context) *atomic.Int32 {
	n, _ := ctx.Value(dialsKey{}).(*atomic.Int32)
	return n
}

// isDialError reports whether err is a failure to connect: the dial itself
// or the TLS handshake (an unverifiable certificate, a refused client
// certificate, a peer that does not speak TLS).
func isDialError(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	if isTLSRefusal(err) {
		return true
	}
	var cve *tls.CertificateVerificationError
	var rhe tls.RecordHeaderError
	var ae tls.AlertError
	var hn x509.HostnameError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cve) || errors.As(err, &rhe) || errors.As(err, &ae) ||
		errors.As(err, &hn) || errors.As(err, &ua) || errors.As(err, &ci)
}

// isTLSRefusal reports whether the upstream ended the connection with a TLS
// alert, as a TLS 1.3 server does after the handshake when it rejects the
// client certificate: the connection was never usable.
func isTLSRefusal(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}

// isConnReset reports whether err is a connection reset by the peer.
func isConnReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && (oe.Op == "read" || oe.Op == "write")
}
