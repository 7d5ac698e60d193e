// Package h2fields holds what pylon's HTTP/2 server and client both need
// to move a header section between the wire and net/http's types:
// lower-case and canonical names, the fields HTTP/2 forbids, a received
// header section as an http.Header, and a header block split into HEADERS
// and CONTINUATION frames.
package h2fields

import (
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// commonLower maps header names commonly sent, in canonical form, to their
// lower-case form, and commonCanonical the other way, so converting them
// allocates nothing.
var commonLower, commonCanonical = map[string]string{}, map[string]string{}

func init() {
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cookie",
		"Forwarded", "Grpc-Timeout", "If-Modified-Since", "If-None-Match", "Origin",
		"Referer", "Te", "User-Agent", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
		"Access-Control-Max-Age", "Age", "Cache-Control", "Content-Disposition", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Location", "Content-Range", "Content-Type",
		"Date", "Etag", "Expires", "Grpc-Encoding", "Grpc-Accept-Encoding", "Grpc-Message",
		"Grpc-Status", "Grpc-Status-Details-Bin", "Last-Modified", "Link", "Location",
		"Ratelimit-Limit", "Ratelimit-Policy", "Ratelimit-Remaining", "Ratelimit-Reset",
		"Retry-After", "Server", "Set-Cookie", "Strict-Transport-Security", "Trailer",
		"Traceparent", "Tracestate", "Vary", "Via", "Www-Authenticate", "X-Content-Type-Options",
		"X-Frame-Options", "X-Request-Id",
	} {
		commonLower[k] = strings.ToLower(k)
		commonCanonical[commonLower[k]] = k
	}
}

// Canonical returns a lower-case field name as it is kept in an
// http.Header; the names commonly sent cost no allocation.
func Canonical(name string) string {
	if k, ok := commonCanonical[name]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// Header returns the fields as an http.Header, names in canonical form,
// values in the order received; skip, if not nil, leaves fields out. Every
// value slice shares one backing array, so a header section costs the map
// and one slice however many fields it has.
func Header(fields []hpack.HeaderField, skip func(hpack.HeaderField) bool) http.Header {
	h := make(http.Header, len(fields))
	vals := make([]string, len(fields))
	n := 0
	for _, f := range fields {
		if skip != nil && skip(f) {
			continue
		}
		k := Canonical(f.Name)
		vals[n] = f.Value
		if prev, ok := h[k]; ok {
			h[k] = append(prev, f.Value)
		} else {
			h[k] = vals[n : n+1 : n+1]
		}
		n++
	}
	return h
}

// Lower returns a header name in lower case, as HTTP/2 sends it; the
// names handlers and clients commonly use cost no allocation.
func Lower(k string) string {
	if v, ok := commonLower[k]; ok {
		return v
	}
	return strings.ToLower(k)
}

// Field is the field to encode for a lower-case name and its value. The
// fields whose values are new in every message, a request ID and a trace
// context, are marked to be sent as literals never indexed (RFC 7541
// 6.2.3): entered into the peer's dynamic table, they would only push out
// the fields that do repeat from one request to the next, and cost an
// entry and an eviction on both sides for every message.
func Field(name, value string) hpack.HeaderField {
	return hpack.HeaderField{Name: name, Value: value, Sensitive: newEveryMessage(name)}
}

// newEveryMessage reports whether a lower-case field name is one whose
// value differs in every message pylon sends.
func newEveryMessage(name string) bool {
	return name == "x-request-id" || name == "traceparent"
}

// ConnectionSpecific reports whether a lower-case field name is one HTTP/2
// forbids (RFC 9113 8.2.2): connection-specific fields are not sent, and a
// request carrying one is malformed.
func ConnectionSpecific(name string) bool {
	switch name {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// WriteHeaderBlock writes a header block on stream id as a HEADERS frame
// and as many CONTINUATION frames as a peer's maxFrame needs; end sets
// END_STREAM. The caller serialises writes to fr, and nothing may be
// written between the frames.
func WriteHeaderBlock(fr *http2.Framer, id uint32, end bool, block []byte, maxFrame int) {
	first := block[:min(len(block), maxFrame)]
	block = block[len(first):]
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(block) == 0})
	for len(block) > 0 {
		frag := block[:min(len(block), maxFrame)]
		block = block[len(frag):]
		fr.WriteContinuation(id, len(block) == 0, frag)
	}
}
