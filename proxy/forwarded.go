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

// appendForwarded appends X-Forwarded-For, -Proto and -Host. A trusted peer's
// values are extended; anyone else's are replaced.
func (c *conn) appendForwarded(dst []byte, trusted bool) []byte {
	dst = append(dst, "X-Forwarded-For: "...)
	if trusted {
		if v, ok := c.req.Header("x-forwarded-for"); ok && len(v) > 0 {
			dst = append(dst, v...)
			dst = append(dst, ", "...)
		}
	}
	dst = appendIP(dst, c.remote.Addr())
	dst = append(dst, '\r', '\n')
	dst = append(dst, "X-Forwarded-Proto: "...)
	if v, ok := c.req.Header("x-forwarded-proto"); trusted && ok {
		dst = append(dst, v...)
	} else if c.secure {
		dst = append(dst, "https"...)
	} else {
		dst = append(dst, "http"...)
	}
	dst = append(dst, '\r', '\n')
	if v, ok := c.req.Header("x-forwarded-host"); trusted && ok {
		dst = append(dst, "X-Forwarded-Host: "...)
		dst = append(dst, v...)
		dst = append(dst, '\r', '\n')
	} else if len(c.req.Host) > 0 {
		dst = append(dst, "X-Forwarded-Host: "...)
		dst = append(dst, c.req.Host...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}
