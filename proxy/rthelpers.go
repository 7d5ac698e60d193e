package proxy

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/retry"
	"github.com/pylon-mesh/pylon/router"
)

// hopByHopCanonical reports whether the canonical header key k is
// hop-by-hop (RFC 9110 section 7.6.1) or named in the Connection field.
func hopByHopCanonical(k string, h http.Header) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	for _, v := range h["Connection"] {
		for _, tok := range strings.Split(v, ",") {
			if textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(tok)) == k {
				return true
			}
		}
	}
	return false
}

// applyOps edits an http.Header as a route's header ops say.
func applyOps(h http.Header, ops *HeaderOps) {
	if ops.Empty() {
		return
	}
	for _, name := range ops.Remove {
		delete(h, textproto.CanonicalMIMEHeaderKey(string(name)))
	}
	for _, f := range ops.Set {
		h[textproto.CanonicalMIMEHeaderKey(string(f.Name))] = []string{string(f.Value)}
	}
	for _, f := range ops.Add {
		k := textproto.CanonicalMIMEHeaderKey(string(f.Name))
		h[k] = append(h[k], string(f.Value))
	}
}

// rewriteTarget returns the origin-form target sent upstream.
func rewriteTarget(route *Route, path, query string, params *router.Params) string {
	return string(appendRewritten(nil, &route.Rewrite, path, query, params))
}

// idempotent reports whether an HTTP method is idempotent.
func idempotent(m string) bool { return retry.IdempotentMethod([]byte(m)) }

// hashHTTP computes the affinity key of an http.Request.
func hashHTTP(svc *Service, r *http.Request, trusted bool, snap *Snapshot) uint64 {
	switch svc.HashOn {
	case HashHeader:
		if v := r.Header.Get(svc.HashName); v != "" {
			return balancer.HashString(v)
		}
	case HashCookie:
		if c, err := r.Cookie(svc.HashName); err == nil {
			return balancer.HashString(c.Value)
		}
	case HashClientIP:
		a := remoteOf(r).Addr()
		if trusted {
			if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
				a = rightmostUntrusted(xff, a, snap)
			}
		}
		b := a.As16()
		return balancer.HashBytes(b[:])
	}
	return 0
}
