package proxy

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/retry"
)

var (
	errNoHealthy   = flow.New(503, flow.CodeNoHealthyEndpoint, "no healthy endpoint for the service")
	errCircuitOpen = flow.New(503, flow.CodeCircuitOpen, "the service is at its concurrency limit")
	errUpTimeout   = flow.New(504, flow.CodeUpstreamTimeout, "the upstream did not answer in time")
	// errShuttingDown ends a request still in flight when a shutdown's
	// drain deadline passes.
	errShuttingDown = flow.New(503, flow.CodeShuttingDown, "pylon is shutting down and cut the request off")
	errClientSlow   = flow.New(408, flow.CodeRequestTimeout, "the request body did not arrive in time")
	// errKeptFailing answers when a retryable status was discarded for a
	// retry that then could not be made.
	errKeptFailing = flow.New(502, flow.CodeUpstreamProtocolError, "the upstream kept answering with a retryable error status")
)

// copyBufs holds the buffers bodies are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// attempt is the outcome of one try of a request on one endpoint.
type attempt struct {
	fe *flow.Error
	// cond is set when the try failed in a way the retry policy may retry.
	cond retry.Condition
}

// forwardH1 forwards the request to an HTTP/1.1 service, retrying as the
// route allows. It returns nil once a response has been relayed in full.
func (c *conn) forwardH1(snap *Snapshot, lc *ListenerConfig, route *Route, svc *Service, start time.Time) *flow.Error {
	req := &c.req
	if !svc.Breaker.AcquireRequest() {
		return errCircuitOpen
	}
	defer svc.Breaker.ReleaseRequest()
	svc.Budget.Request(start)
	trusted := trustedPeer(c.remote.Addr(), snap.TrustedProxies)
	hash := c.hashKey(svc, trusted, snap)
	hasBody := req.Chunked || req.ContentLength > 0
	var deadline time.Time
	if route.Timeout > 0 {
		deadline = start.Add(route.Timeout)
	}
	// A small body that arrived with the head is kept so a retry can send
	// it again; a streamed one cannot be replayed once sent.
	c.replay = c.replay[:0]
	kept := hasBody && route.Retry.Attempts > 0 && c.keepBody()
	replayable := (!hasBody || kept) && (route.Retry.NonIdempotent || retry.IdempotentMethod(req.Method))
	head := c.buildRequestHead(route, trusted, hasBody)
	var t Tried
	for n := 0; ; n++ {
		ep, err := PickOther(svc.Set, hash, &t)
		if err != nil {
			return errNoHealthy
		}
		t.Add(ep)
		c.rec.Endpoint = ep.Addr()
		now := start // the first try starts moments after the request
		if n > 0 {
			now = time.Now()
		}
		mayRetry := n < route.Retry.Attempts && (deadline.IsZero() || now.Before(deadline))
		a := c.tryH1(lc, route, svc, ep, tryParams{head: head, deadline: deadline, hasBody: hasBody,
			idempotent: retry.IdempotentMethod(req.Method), retryStatus: replayable && mayRetry})
		if a.cond == 0 {
			return a.fe
		}
		if c.s.pastDrainDeadline() {
			// The shutdown cut the try off (it closed the upstream
			// connection): no further try.
			return errShuttingDown
		}
		if !mayRetry || !retryable(&route.Retry, a.cond, replayable) {
			return a.fe
		}
		if refused := waitRetry(route, svc, n, a.cond, deadline, c.sleep); refused != "" {
			return noRetry(a.fe, refused)
		}
		if c.s.pastDrainDeadline() {
			// The shutdown cut the request off while it waited to retry.
			return errShuttingDown
		}
		c.rec.Retries++
	}
}

// Tried is the endpoints a request (or a mesh TCP connection) has tried,
// so that its retries go to others while others may take traffic. The
// zero value is empty; it lives on the caller's stack.
type Tried struct {
	eps [maxTries]*balancer.Endpoint
	n   int
}

// maxTries is the most tries a request makes: retries.attempts is at most 10.
const maxTries = 11

// Add notes one more try on ep.
func (t *Tried) Add(ep *balancer.Endpoint) {
	if t.n < len(t.eps) {
		t.eps[t.n] = ep
		t.n++
	}
}

// has reports whether ep was tried.
func (t *Tried) has(ep *balancer.Endpoint) bool {
	for _, e := range t.eps[:t.n] {
		if e == ep {
			return true
		}
	}
	return false
}

// PickOther picks an endpoint of set for hash, asking twice more for one
// not in t, then taking any available one not in t, so a retry goes
// elsewhere when it can; when every endpoint was tried it returns the
// balancer's choice.
func PickOther(set *balancer.Set, hash uint64, t *Tried) (*balancer.Endpoint, error) {
	ep, err := set.Pick(hash)
	if err != nil || t.n == 0 {
		return ep, err
	}
	for k := uint64(1); t.has(ep) && k <= 2; k++ {
		h := hash
		if h != 0 {
			h ^= k * 0x9e3779b97f4a7c15
		}
		if next, err := set.Pick(h); err == nil && !t.has(next) {
			return next, nil
		}
	}
	if t.has(ep) {
		// A load-aware balancer keeps choosing an endpoint that fails fast
		// (its latency looks best): take any other that may take traffic.
		if other := anyUntried(set, t, time.Now()); other != nil {
			return other, nil
		}
	}
	return ep, nil
}

// anyUntried returns an available endpoint of set not tried yet, starting
// at a random one, or nil.
func anyUntried(set *balancer.Set, t *Tried, now time.Time) *balancer.Endpoint {
	eps := set.Endpoints()
	if len(eps) < 2 {
		return nil
	}
	start := rand.IntN(len(eps))
	for i := range eps {
		if e := eps[(start+i)%len(eps)]; !t.has(e) && e.Available(now) {
			return e
		}
	}
	return nil
}

// waitRetry takes a retry from the service's budget and breaker and waits
// out the backoff. It returns why the retry is refused, or "" when it may
// go ahead. sleep waits out the backoff.
func waitRetry(route *Route, svc *Service, n int, cond retry.Condition, deadline time.Time, sleep func(time.Duration)) string {
	now := time.Now()
	// A failure to connect reached no upstream, so retrying it elsewhere
	// adds no load to a struggling one: it takes nothing from the budget.
	// (An instance that just went away refuses every request sent its way
	// until callers learn it left.)
	if cond != condStatus && cond != retry.ConnectFailure && !svc.Budget.TryRetry(now) {
		return "the retry budget is spent"
	}
	if !svc.Breaker.AcquireRetry() {
		return "max_retries retries are already in flight"
	}
	defer svc.Breaker.ReleaseRetry()
	wait := route.Retry.Backoff(n + 1)
	if !deadline.IsZero() && now.Add(wait).After(deadline) {
		return "the route timeout leaves no time"
	}
	sleep(wait)
	return ""
}

// noRetry notes in the error why it was not retried, so the access log and
// the client say so.
func noRetry(fe *flow.Error, why string) *flow.Error {
	out := *fe
	out.Msg = fe.Msg + " (not retried: " + why + ")"
	return &out
}

// condStatus marks a try answered with a status the route retries on; the
// try itself already checked the policy and took from the budget.
const condStatus retry.Condition = 1 << 15

// retryable reports whether a failed try may be tried again: the policy
// names the failure, and either nothing reached the upstream or the request
// can be replayed.
func retryable(p *retry.Policy, cond retry.Condition, replayable bool) bool {
	if cond == condStatus {
		return true
	}
	if !p.Retryable(cond) {
		return false
	}
	return cond == retry.ConnectFailure || replayable
}

// tryParams are the parts of a try that stay the same across retries.
type tryParams struct {
	head       []byte
	deadline   time.Time
	hasBody    bool
	idempotent bool
	// retryStatus allows turning a retryable status into a retry.
	retryStatus bool
}

// tryH1 sends the request to one endpoint and relays the response.
func (c *conn) tryH1(lc *ListenerConfig, route *Route, svc *Service, ep *balancer.Endpoint, tp tryParams) attempt {
	pool := svc.Pool(ep)
	if pool == nil {
		// The endpoint left the service (DNS refresh) after it was picked.
		return attempt{fe: errNoHealthy, cond: retry.ConnectFailure}
	}
	began := time.Now()
	tryDeadline := tp.deadline
	if pt := route.Retry.PerTryTimeout; pt > 0 {
		if d := began.Add(pt); tryDeadline.IsZero() || d.Before(tryDeadline) {
			tryDeadline = d
		}
	}
	ep.Begin()
	defer c.upstream.Store(nil)
	for {
		uc, err := pool.get(tryDeadline, began, c.loop)
		if err != nil {
			return connectFailed(svc, ep, began, err)
		}
		c.upstream.Store(uc)
		slack := min(10*time.Millisecond, route.Timeout/16)
		uc.dl.setRead(uc.Conn, tryDeadline, slack)
		uc.dl.setWrite(uc.Conn, tryDeadline, slack)
		h := c.sendHead(uc, lc, tp)
		if h.clientErr != nil {
			return c.clientFailed(ep, uc, h.clientErr)
		}
		if h.upErr != nil {
			uc.Close()
			// A reused connection that fails before any response byte is
			// most likely one the upstream closed while idle: try a fresh one,
			// unless part of a body has gone or the upstream may have acted
			// on a request that is not idempotent.
			stale := uc.served > 0 && !h.bodySent && !isTimeout(h.upErr) && noResponseBytes(h.upErr)
			if stale && (!h.written || tp.idempotent) {
				continue
			}
			return failedTry(svc, ep, began, h.upErr)
		}
		status := uc.resp.Status
		if tp.retryStatus && route.Retry.RetryableStatus(status) && svc.Budget.TryRetry(time.Now()) {
			uc.Close()
			endTry(svc, ep, balancer.ServerError, began)
			return attempt{fe: errKeptFailing, cond: condStatus}
		}
		fe, done := c.relayAndRelease(uc, lc, route, h.streaming)
		c.done = done
		outcome := balancer.Success
		switch {
		case fe != nil && fe.Code == flow.CodeUpstreamReset:
			outcome = balancer.Reset
		case status >= 500:
			outcome = balancer.ServerError
		}
		endTryAt(svc, ep, outcome, began, done)
		return attempt{fe: fe}
	}
}

// connectFailed ends a try whose connection could not be had.
func connectFailed(svc *Service, ep *balancer.Endpoint, began time.Time, err error) attempt {
	if err == errConnLimit {
		ep.Cancel()
		return attempt{fe: errCircuitOpen}
	}
	endTry(svc, ep, balancer.ConnectFailure, began)
	if isTimeout(err) {
		return attempt{fe: errUpTimeout, cond: retry.ConnectFailure}
	}
	return attempt{fe: flow.Wrap(502, flow.CodeUpstreamConnectFailed, "could not connect to the upstream", err), cond: retry.ConnectFailure}
}

// headResult is how sending a request and reading the response head went.
type headResult struct {
	// streaming: the body is being copied by its own goroutine.
	streaming bool
	// written: the request head reached the upstream's socket.
	written bool
	// bodySent: some body bytes were taken from the client.
	bodySent  bool
	clientErr *flow.Error
	upErr     error
}

// sendHead sends the request (its body inline when small and buffered, or
// streamed alongside) and reads the response head.
func (c *conn) sendHead(uc *upConn, lc *ListenerConfig, tp tryParams) (h headResult) {
	h.streaming = tp.hasBody && len(c.replay) == 0 && !c.bodyBuffered()
	if h.streaming {
		// The body goes on its own goroutine with no write deadline: the
		// route's timeout bounds the wait for the response head, not the
		// upload. A stuck upstream is cut off by the head read.
		uc.dl.setWrite(uc.Conn, time.Time{}, 0)
		h.upErr = c.startBody(uc, lc, tp.head)
	} else {
		h.clientErr, h.upErr = c.sendRequest(uc, tp.head, tp.hasBody)
		if h.clientErr != nil {
			return h
		}
	}
	h.written = h.upErr == nil
	if h.written {
		h.upErr = c.readResponseHead(uc)
	}
	if h.upErr != nil && h.streaming && h.written {
		res := c.abortBody(uc)
		h.bodySent = res.sent
		h.clientErr = res.fe
	}
	return h
}

// relayAndRelease relays the response, settles a body still streaming,
// and returns the upstream connection to its pool when it is clean. done
// is when the response was relayed.
func (c *conn) relayAndRelease(uc *upConn, lc *ListenerConfig, route *Route, streaming bool) (fe *flow.Error, done time.Time) {
	fe, reusable := c.relayResponse(uc, lc, route)
	if streaming {
		if !c.bodyFinished() {
			// The upstream answered without taking the whole body.
			c.abortBody(uc)
			reusable = false
		} else if res := c.body.res; res.fe != nil || res.upErr != nil {
			reusable = false
			c.closeAfter = true
		}
	}
	done = time.Now()
	if reusable {
		uc.pool.put(uc, done)
	} else {
		uc.Close()
	}
	return fe, done
}

// clientFailed ends a try that failed on the client's side (a bad chunk, a
// body too large or too slow); the upstream is not to blame.
func (c *conn) clientFailed(ep *balancer.Endpoint, uc *upConn, fe *flow.Error) attempt {
	uc.Close()
	ep.Cancel()
	c.closeAfter = true
	return attempt{fe: fe}
}

// failedTry classifies an upstream failure after the connection was made.
func failedTry(svc *Service, ep *balancer.Endpoint, began time.Time, err error) attempt {
	if isTLSRefusal(err) {
		endTry(svc, ep, balancer.ConnectFailure, began)
		return attempt{fe: flow.Wrap(502, flow.CodeUpstreamConnectFailed, "the upstream refused the TLS connection", err), cond: retry.ConnectFailure}
	}
	if isTimeout(err) {
		endTry(svc, ep, balancer.Timeout, began)
		return attempt{fe: errUpTimeout}
	}
	var he *h1.Error
	if errors.As(err, &he) {
		endTry(svc, ep, balancer.Reset, began)
		return attempt{fe: flow.Wrap(502, flow.CodeUpstreamProtocolError, "the upstream sent a malformed response", err)}
	}
	endTry(svc, ep, balancer.Reset, began)
	return attempt{fe: flow.Wrap(502, flow.CodeUpstreamReset, "the upstream closed the connection", err), cond: retry.Reset}
}

// endTry reports the try's outcome to the endpoint and outlier detection.
func endTry(svc *Service, ep *balancer.Endpoint, o balancer.Outcome, began time.Time) {
	endTryAt(svc, ep, o, began, time.Now())
}

// endTryAt is endTry for a try that ended at now.
func endTryAt(svc *Service, ep *balancer.Endpoint, o balancer.Outcome, began, now time.Time) {
	ep.End(o, now.Sub(began), now)
	if svc.Outlier != nil {
		svc.Outlier.Observe(ep, now)
	}
}

// noResponseBytes reports whether err came before any byte of a response:
// the connection was found closed or reset.
func noResponseBytes(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isConnReset(err)
}
