package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/netip"
	"net/textproto"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
)

// Access is what a listener's Authorize hook learns about one request: who
// is calling, and what the request asks for. It is reused from request to
// request on a connection, so the hook must not keep it, or its Peer slice,
// beyond the call; the strings it returns are the hook's to keep.
type Access struct {
	// Peer is the client's verified certificate chain, leaf first: the
	// first chain Go's TLS stack verified, or, when the listener's TLS
	// config verifies peers itself (VerifyPeerCertificate or
	// VerifyConnection set, as go-spiffe's configs do), the certificates
	// the client presented. It is nil for plaintext connections and for
	// certificates nothing verified.
	Peer []*x509.Certificate
	// Method is the request method ("CONNECT" for a tunnel).
	Method string
	// Path is the request path without the query ("" for CONNECT).
	Path string
	// GRPC is set for gRPC requests (content-type application/grpc...).
	GRPC bool

	// Exactly one of req and header is set: the fields of an HTTP/1.1 or
	// of an HTTP/2 request.
	req    *h1.Request
	header http.Header
	// query is an HTTP/2 request's raw query; client the client's address.
	// Both are set only for a route's policies.
	query  string
	client netip.Addr
}

// Header returns the first value of the request header field named name,
// which must be lower-case, and whether the field is present.
func (a *Access) Header(name string) (string, bool) {
	if a.req != nil {
		v, ok := a.req.Header(name)
		return string(v), ok
	}
	vv := a.header[textproto.CanonicalMIMEHeaderKey(name)]
	if len(vv) == 0 {
		return "", false
	}
	return vv[0], true
}

// HeaderBytes is Header without a copy for HTTP/1.1 requests: the bytes
// alias the connection's buffer and stay valid until the next request on
// it; the caller must not modify them.
func (a *Access) HeaderBytes(name string) ([]byte, bool) {
	if a.req != nil {
		return a.req.Header(name)
	}
	vv := a.header[textproto.CanonicalMIMEHeaderKey(name)]
	if len(vv) == 0 {
		return nil, false
	}
	return []byte(vv[0]), true
}

// Values returns every value of the request header field named name, which
// must be lower-case, in the order they came; nil when it is absent. The
// caller must not modify the slice.
func (a *Access) Values(name string) []string {
	if a.req == nil {
		return a.header[textproto.CanonicalMIMEHeaderKey(name)]
	}
	var vv []string
	for i := range a.req.Headers {
		if h := &a.req.Headers[i]; h1.EqualLower(h.Name, name) {
			vv = append(vv, string(h.Value))
		}
	}
	return vv
}

// verifiedPeer returns the client's verified chain from a TLS connection
// state (see Access.Peer); cfg is the listener's TLS config.
func verifiedPeer(st *tls.ConnectionState, cfg *tls.Config) []*x509.Certificate {
	switch {
	case st == nil:
		return nil
	case len(st.VerifiedChains) > 0:
		return st.VerifiedChains[0]
	case cfg != nil && (cfg.VerifyPeerCertificate != nil || cfg.VerifyConnection != nil) && len(st.PeerCertificates) > 0:
		return st.PeerCertificates
	}
	return nil
}

// methodString returns an HTTP/1.1 request's method as a string, without
// allocating for the registered methods.
func methodString(m []byte) string {
	switch string(m) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodConnect:
		return http.MethodConnect
	case http.MethodTrace:
		return http.MethodTrace
	}
	return string(m)
}

// authorized passes on an Authorize hook's answer. One whose status is not
// an error status (400 to 599) becomes a 500 with the hook's error as the
// cause, so a faulty hook refuses rather than admits or sends a bogus
// status.
func authorized(fe *flow.Error) *flow.Error {
	if fe != nil && (fe.Status < 400 || fe.Status > 599) {
		return flow.Wrap(500, flow.CodeInternal, "authorization failed", fe)
	}
	return fe
}
