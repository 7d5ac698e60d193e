package proxy

import (
	"context"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/policy"
)

// Query returns the first value of the query parameter name,
// percent-decoded, and whether it is present.
func (a *Access) Query(name string) (string, bool) {
	q := a.query
	if a.req != nil {
		q = string(a.req.Query)
	}
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err != nil || k != name {
			continue
		}
		v, err := url.QueryUnescape(v)
		return v, err == nil
	}
	return "", false
}

// ClientIP is the client's address: the peer, or behind trusted proxies the
// address they forwarded for (see TrustedProxies).
func (a *Access) ClientIP() netip.Addr { return a.client }

// checkPolicies runs the route's policies on an HTTP/1.1 request.
func (c *conn) checkPolicies(snap *Snapshot, route *Route) *flow.Error {
	c.outcome.Reset()
	a := &c.acc
	a.req = &c.req
	a.client = c.clientIP(trustedPeer(c.remote.Addr(), snap.TrustedProxies), snap).Unmap()
	fe := route.Policies.Check(context.Background(), a, &c.outcome)
	c.rec.Consumer = c.outcome.Consumer
	return fe
}

// checkPolicies runs the route's policies on an HTTP/2 request whose query
// is query.
func (x *h2Exchange) checkPolicies(query string, trusted bool) *flow.Error {
	x.acc.header = x.r.Header
	x.acc.query = query
	x.acc.client = clientIPHTTP(x.r, trusted, x.snap).Unmap()
	fe := x.route.Policies.Check(x.r.Context(), &x.acc, &x.outcome)
	x.rec.Consumer = x.outcome.Consumer
	return fe
}

// clientIPHTTP is clientIP for an http.Request.
func clientIPHTTP(r *http.Request, trusted bool, snap *Snapshot) netip.Addr {
	peer := remoteOf(r).Addr()
	if xff := r.Header.Get("X-Forwarded-For"); trusted && xff != "" {
		return rightmostUntrusted(xff, peer, snap)
	}
	return peer
}

// applyOutcome edits a header sent upstream after the route's policies
// passed: the credential goes, the consumer comes.
func applyOutcome(h http.Header, o *policy.Outcome) {
	if o.StripHeader != "" {
		delete(h, textproto.CanonicalMIMEHeaderKey(o.StripHeader))
	}
	if o.Consumer != "" {
		h[policy.ConsumerHeader] = []string{o.Consumer}
	}
}

// withoutQueryParam returns query without the parameters named name.
func withoutQueryParam(query, name string) string {
	var b strings.Builder
	for q := query; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err == nil && k == name {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

// appendErrorFields appends an error's extra header fields in HTTP/1.1 form.
func appendErrorFields(dst []byte, fe *flow.Error) []byte {
	for _, f := range fe.Header {
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Value...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}
