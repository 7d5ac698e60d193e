package proxy

import (
	"net/netip"

	"github.com/pylon-mesh/pylon/h1"
)

// equalFold reports whether a equals the lower-case name b, ignoring ASCII
// case in a.
func equalFold(a []byte, lower string) bool {
	if len(a) != len(lower) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// equalFoldBytes is equalFold with a lower-case []byte.
func equalFoldBytes(a, lower []byte) bool {
	if len(a) != len(lower) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// inOps reports whether name is removed or replaced by ops.
func inOps(name []byte, ops *HeaderOps) bool {
	for _, r := range ops.Remove {
		if equalFoldBytes(name, r) {
			return true
		}
	}
	for _, f := range ops.Set {
		if equalFoldBytes(name, f.Name) {
			return true
		}
	}
	return false
}

// appendOps appends the set and add fields of ops.
func appendOps(dst []byte, ops *HeaderOps) []byte {
	for _, f := range ops.Set {
		dst = h1.AppendHeader(dst, f.Name, f.Value)
	}
	for _, f := range ops.Add {
		dst = h1.AppendHeader(dst, f.Name, f.Value)
	}
	return dst
}

// skipRequestHeader reports whether a client header is not copied verbatim
// upstream: hop-by-hop fields, the ones named in Connection, framing (pylon
// frames the message itself), and the ones pylon writes itself.
func skipRequestHeader(name []byte, headers []h1.Header, trusted bool) bool {
	if h1.IsHopByHop(name) || h1.ConnectionHas(headers, name) {
		return true
	}
	switch len(name) {
	case 4:
		return equalFold(name, "host")
	case 6:
		return equalFold(name, "expect")
	case 9:
		return !trusted && equalFold(name, "forwarded")
	case 12:
		return equalFold(name, "x-request-id")
	case 14:
		return equalFold(name, "content-length")
	case 15:
		return equalFold(name, "x-forwarded-for")
	case 16:
		return equalFold(name, "x-forwarded-host")
	case 17:
		return equalFold(name, "x-forwarded-proto")
	}
	return false
}

// skipResponseHeader reports whether an upstream response header is not
// copied verbatim to the client.
func skipResponseHeader(name []byte, headers []h1.Header) bool {
	if h1.IsHopByHop(name) || h1.ConnectionHas(headers, name) {
		return true
	}
	switch len(name) {
	case 12:
		return equalFold(name, "x-request-id")
	case 14:
		return equalFold(name, "content-length")
	}
	return false
}

// trustedPeer reports whether addr is one of the trusted proxies.
func trustedPeer(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// appendIP appends the textual form of an address without allocating.
func appendIP(dst []byte, a netip.Addr) []byte {
	return a.Unmap().AppendTo(dst)
}

// forwardableTrailers appends to dst the trailer fields that may be
// forwarded: never hop-by-hop fields, framing, Host, or anything the
// message named in Connection (RFC 9110 section 6.5.1).
func forwardableTrailers(dst, src []h1.Header) []h1.Header {
	for _, f := range src {
		if h1.IsHopByHop(f.Name) || equalFold(f.Name, "content-length") || equalFold(f.Name, "host") {
			continue
		}
		dst = append(dst, f)
	}
	return dst
}
