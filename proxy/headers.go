package proxy

import (
	"net/netip"

	"github.com/pylon-mesh/pylon/h1"
)

// inOps reports whether name is removed or replaced by ops.
func inOps(name []byte, ops *HeaderOps) bool {
	for _, r := range ops.Remove {
		if h1.EqualLower(name, r) {
			return true
		}
	}
	for _, f := range ops.Set {
		if h1.EqualLower(name, f.Name) {
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
func skipRequestHeader(name []byte, req *h1.Request, trusted bool) bool {
	if h1.IsHopByHop(name) || req.ConnectionOptions && h1.ConnectionHas(req.Headers, name) {
		return true
	}
	switch len(name) {
	case 4:
		return h1.EqualLower(name, "host")
	case 6:
		return h1.EqualLower(name, "expect")
	case 9:
		return !trusted && h1.EqualLower(name, "forwarded")
	case 12:
		return h1.EqualLower(name, "x-request-id")
	case 14:
		return h1.EqualLower(name, "content-length")
	case 15:
		return h1.EqualLower(name, "x-forwarded-for")
	case 16:
		return h1.EqualLower(name, "x-forwarded-host") || h1.EqualLower(name, "x-pylon-consumer")
	case 17:
		return h1.EqualLower(name, "x-forwarded-proto")
	}
	return false
}

// skipResponseHeader reports whether an upstream response header is not
// copied verbatim to the client.
func skipResponseHeader(name []byte, resp *h1.Response) bool {
	if h1.IsHopByHop(name) || resp.ConnectionOptions && h1.ConnectionHas(resp.Headers, name) {
		return true
	}
	switch len(name) {
	case 12:
		return h1.EqualLower(name, "x-request-id")
	case 14:
		return h1.EqualLower(name, "content-length")
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
		if h1.IsHopByHop(f.Name) || h1.EqualLower(f.Name, "content-length") || h1.EqualLower(f.Name, "host") {
			continue
		}
		dst = append(dst, f)
	}
	return dst
}
