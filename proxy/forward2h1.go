package proxy

import (
	"errors"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/retry"
)

// HTTP/2 clients' requests to an HTTP/1.1 service go over the endpoint's
// own Pool and the h1 codec, in the handler's goroutine, rather than
// through an http.Transport, whose read and write loops cost two goroutine
// hand-offs per request. Only a request body is copied on a goroutine of
// its own, so that an upstream may answer before the body ends.

// tryPool makes one try of rq on one endpoint over a pooled connection. The
// wait for the response head is bounded by the route's deadline and per-try
// timeout; the body is not, but the client going away ends it.
func tryPool(route *Route, svc *Service, rq *rtRequest, ep *balancer.Endpoint, deadline time.Time, retryStatus bool) (*rtResult, *flow.Error, retry.Condition) {
	pool := svc.Pool(ep)
	if pool == nil {
		// The endpoint left the service (DNS refresh) after it was picked.
		return nil, errNoHealthy, retry.ConnectFailure
	}
	tryDeadline := deadline
	if pt := route.Retry.PerTryTimeout; pt > 0 {
		if d := time.Now().Add(pt); tryDeadline.IsZero() || d.Before(tryDeadline) {
			tryDeadline = d
		}
	}
	slack := min(10*time.Millisecond, route.Timeout/16)
	ep.Begin()
	began := time.Now()
	for {
		uc, err := pool.get(tryDeadline, time.Now(), nil)
		if err != nil {
			a := connectFailed(svc, ep, began, err)
			return nil, a.fe, a.cond
		}
		x := startExchange(uc, rq)
		written, err := x.send(tryDeadline, slack)
		if err == nil {
			err = x.readHead()
		}
		if err != nil {
			x.abort()
			if x.stale(err, written) {
				continue
			}
			fe, cond := poolFailed(svc, rq, ep, began, x.up, err)
			return nil, fe, cond
		}
		if retryStatus && route.Retry.RetryableStatus(x.resp.StatusCode) && svc.Budget.TryRetry(time.Now()) {
			x.abort()
			endTry(svc, ep, balancer.ServerError, began)
			return nil, errKeptFailing, condStatus
		}
		return &rtResult{resp: &x.resp, ep: ep, began: began, cancel: noCancel}, nil, 0
	}
}

// noCancel is the cancel of a result whose try made no context.
func noCancel() {}

// stale reports whether a try failed on a reused connection that the
// upstream had closed while it was idle, before any response byte: the
// request goes again on a fresh connection, unless body bytes have been
// taken from the client or the upstream may have acted on a request that
// is not idempotent.
func (x *poolExchange) stale(err error, written bool) bool {
	return x.uc.served > 0 && x.up == nil && x.rq.ctx.Err() == nil && !isTimeout(err) &&
		noResponseBytes(err) && (!written || x.rq.idempotent)
}

// poolFailed classifies a failed try on a pooled connection, whose
// exchange has been aborted, as tryRT classifies a RoundTripper's error.
func poolFailed(svc *Service, rq *rtRequest, ep *balancer.Endpoint, began time.Time, up *upload, err error) (*flow.Error, retry.Condition) {
	if lb, ok := rq.body.(*limitedBody); ok && lb.over.Load() {
		// The client's body outgrew the limit: its fault, not the
		// upstream's.
		ep.Cancel()
		return errBodyTooLarge, 0
	}
	if deadlinePassed(rq.ctx) {
		// The gRPC deadline pylon enforces for the client.
		endTry(svc, ep, balancer.Timeout, began)
		return errUpTimeout, 0
	}
	if rq.ctx.Err() != nil {
		ep.Cancel()
		return flow.Wrap(499, flow.CodeBadRequest, "the client went away", err), 0
	}
	if up != nil && up.clientErr != nil {
		ep.Cancel()
		return flow.Wrap(400, flow.CodeBadRequest, "the request body ended early", up.clientErr), 0
	}
	if errors.Is(err, errInterim) {
		endTry(svc, ep, balancer.Reset, began)
		return flow.Wrap(502, flow.CodeUpstreamProtocolError, "the upstream sent a malformed response", err), 0
	}
	a := failedTry(svc, ep, began, err)
	return a.fe, a.cond
}
