package proxy

import (
	"bufio"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
)

// This file converts between an HTTP/2 client's request and response,
// held as net/http values, and the HTTP/1.1 wire.

var (
	errBadMethod = flow.New(400, flow.CodeBadRequest, "the request method is not a valid token")
	errBadHost   = flow.New(400, flow.CodeBadRequest, "the request's authority is not a valid host")
	errBadField  = flow.New(400, flow.CodeBadRequest, "a header field cannot be written in HTTP/1.1")
)

// checkWire refuses a request that cannot be written as an HTTP/1.1 head
// without changing its meaning, as the transport did: the HTTP/2 server
// has checked the client's fields already, but route edits and rewrites go
// into the head too.
func checkWire(rq *rtRequest) *flow.Error {
	if !validToken(rq.method) {
		return errBadMethod
	}
	if !validHost(rq.host) {
		return errBadHost
	}
	for k, vv := range rq.header {
		if !validToken(k) {
			return errBadField
		}
		for _, v := range vv {
			if !validValue(v) {
				return errBadField
			}
		}
	}
	return nil
}

// validToken reports whether s is an RFC 9110 token.
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return s != ""
}

// validValue reports whether s is a field value without control bytes
// (HTAB aside), which could end the field or the head early.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost reports whether s is made only of the bytes an RFC 3986 host
// and port may hold (reg-name, IP literal, percent-encoding).
func validHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && strings.IndexByte("-._~%!$&'()*+,;=:[]", c) < 0 {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// writeRequestHead writes the request line, Host (host, the request's or
// for a request without one the endpoint's address, as the transport did),
// the header fields and
// the body's framing: Content-Length when its length is known, chunked
// when it is not. Expect and TE are not sent: pylon invites the client's
// body itself, and the upstream's trailers are taken whether or not it was
// told they would be.
func writeRequestHead(w *bufio.Writer, rq *rtRequest, host string) {
	w.WriteString(rq.method)
	w.WriteByte(' ')
	writeTarget(w, rq.target)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	for k, vv := range rq.header {
		switch k {
		case "Host", "Content-Length", "Expect", "Te":
			continue
		}
		if hopByHopCanonical(k, rq.header) {
			continue
		}
		for _, v := range vv {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	switch {
	case rq.body != nil && rq.contentLength >= 0:
		writeContentLength(w, rq.contentLength)
	case rq.body != nil:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case rq.method == "POST" || rq.method == "PUT" || rq.method == "PATCH":
		// Some servers want a length on these methods even when empty.
		writeContentLength(w, 0)
	}
	w.WriteString("\r\n")
}

func writeContentLength(w *bufio.Writer, n int64) {
	var b [40]byte
	w.Write(strconv.AppendInt(append(b[:0], "Content-Length: "...), n, 10))
	w.WriteString("\r\n")
}

// writeTarget writes the request-target, percent-encoding the bytes an
// HTTP/1.1 request line cannot carry (space, controls, non-ASCII) and '#',
// which would start a fragment: an HTTP/2 :path may hold them.
func writeTarget(w *bufio.Writer, t string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f || c == '#' {
			w.WriteString(t[start:i])
			w.WriteByte('%')
			w.WriteByte(hex[c>>4])
			w.WriteByte(hex[c&15])
			start = i + 1
		}
	}
	w.WriteString(t[start:])
}

// httpHeaderOf converts a response head's fields into an http.Header with
// one string allocation for all names and values.
func httpHeaderOf(fields []h1.Header) http.Header {
	size := 0
	for _, f := range fields {
		size += len(f.Name) + len(f.Value)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, f := range fields {
		sb.Write(f.Name)
		sb.Write(f.Value)
	}
	all := sb.String()
	vals := make([]string, len(fields))
	h := make(http.Header, len(fields))
	off := 0
	for i, f := range fields {
		// Canonical names, the common case, are kept as they are.
		k := textproto.CanonicalMIMEHeaderKey(all[off : off+len(f.Name)])
		off += len(f.Name)
		vals[i] = all[off : off+len(f.Value)]
		off += len(f.Value)
		if prev, ok := h[k]; ok {
			h[k] = append(prev, vals[i])
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
	return h
}

// trailerHeaderOf converts the forwardable trailer fields of a chunked
// body; nil when there are none.
func trailerHeaderOf(fields []h1.Header) http.Header {
	var keep [8]h1.Header
	fw := forwardableTrailers(keep[:0], fields)
	if len(fw) == 0 {
		return nil
	}
	return httpHeaderOf(fw)
}
