package tunnel

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
)

// connKey is the context key under which ConnContext stores a connection.
type connKey struct{}

// ConnContext is an http.Server.ConnContext that remembers each connection
// in its context, so that TLSState can find the TLS state of CONNECT
// requests, for which Go's HTTP/2 server leaves Request.TLS nil.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// TLSState returns the TLS state of the connection r came on: r.TLS, or the
// state of the connection ConnContext stored. It is nil for a connection
// that is not TLS (or does not expose its state) or not yet handshaken.
func TLSState(r *http.Request) *tls.ConnectionState {
	if r.TLS != nil {
		return r.TLS
	}
	c, ok := r.Context().Value(connKey{}).(interface{ ConnectionState() tls.ConnectionState })
	if !ok {
		return nil
	}
	cs := c.ConnectionState()
	if !cs.HandshakeComplete {
		return nil
	}
	return &cs
}
