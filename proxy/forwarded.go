package proxy

import (
	"net/netip"
	"strings"
)

// clientIP is the address of the client: the peer itself, or when the peer
// is a trusted proxy, the right-most address in X-Forwarded-For that is not
// a trusted proxy.
func (c *conn) clientIP(trusted bool, snap *Snapshot) netip.Addr {
	peer := c.remote.Addr()
	if !trusted {
		return peer
	}
	xff, ok := c.req.Header("x-forwarded-for")
	if !ok {
		return peer
	}
	return rightmostUntrusted(string(xff), peer, snap)
}

// rightmostUntrusted walks an X-Forwarded-For list from the right and
// returns the first address that is not a trusted proxy (peer when the list
// is malformed or all trusted).
func rightmostUntrusted(xff string, peer netip.Addr, snap *Snapshot) netip.Addr {
	for len(xff) > 0 {
		end := len(xff)
		start := end
		for start > 0 && xff[start-1] != ',' {
			start--
		}
		item := strings.TrimSpace(xff[start:end])
		if start > 0 {
			xff = xff[:start-1]
		} else {
			xff = ""
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return peer
		}
		if !trustedPeer(a, snap.TrustedProxies) {
			return a
		}
	}
	return peer
}

// appendForwarded appends X-Forwarded-For, -Proto and -Host header lines.
func (c *conn) appendForwarded(dst []byte, trusted bool) []byte {
	dst = append(dst, "X-Forwarded-For: "...)
	dst = c.appendXFF(dst, trusted)
	dst = append(dst, "\r\nX-Forwarded-Proto: "...)
	dst = append(dst, c.forwardedProto(trusted)...)
	dst = append(dst, '\r', '\n')
	if v := c.forwardedHost(trusted); len(v) > 0 {
		dst = append(dst, "X-Forwarded-Host: "...)
		dst = append(dst, v...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// appendXFF appends the X-Forwarded-For value: a trusted peer's list
// extended with the peer, or the peer alone.
func (c *conn) appendXFF(dst []byte, trusted bool) []byte {
	if trusted {
		if v, ok := c.req.Header("x-forwarded-for"); ok && len(v) > 0 {
			dst = append(dst, v...)
			dst = append(dst, ", "...)
		}
	}
	return appendIP(dst, c.remote.Addr())
}

// forwardedProto is the X-Forwarded-Proto value: a trusted peer's, or the
// listener's scheme.
func (c *conn) forwardedProto(trusted bool) []byte {
	if v, ok := c.req.Header("x-forwarded-proto"); trusted && ok {
		return v
	}
	if c.secure {
		return schemeHTTPS
	}
	return schemeHTTP
}

var schemeHTTP, schemeHTTPS = []byte("http"), []byte("https")

// forwardedHost is the X-Forwarded-Host value: a trusted peer's, or the
// request's host (empty when it has none).
func (c *conn) forwardedHost(trusted bool) []byte {
	if v, ok := c.req.Header("x-forwarded-host"); trusted && ok {
		return v
	}
	return c.req.Host
}
