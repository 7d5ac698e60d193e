package h1

import "math"

// Header is one field line. Name and Value alias the Reader's buffer; the
// value has its surrounding whitespace trimmed.
type Header struct {
	Name, Value []byte
}

// lookup returns the first value of the field named by the lower-case name.
func lookup(hs []Header, name string) ([]byte, bool) {
	for i := range hs {
		if EqualLower(hs[i].Name, name) {
			return hs[i].Value, true
		}
	}
	return nil, false
}

// parseField parses one field line (RFC 9112 5): a token, a colon with no
// whitespace before it, and a value of field-vchar, SP and HTAB.
func parseField(line []byte) (Header, error) {
	if line[0] == ' ' || line[0] == '\t' {
		return Header{}, badRequest("obsolete line folding or whitespace before a field name")
	}
	i := 0
	for i < len(line) && tchar[line[i]] {
		i++
	}
	if i == len(line) || line[i] != ':' {
		return Header{}, badRequest("malformed header field name")
	}
	if i == 0 {
		return Header{}, badRequest("empty header field name")
	}
	value := line[i+1:]
	if !validValue(value) {
		return Header{}, badRequest("control byte in header field value")
	}
	return Header{Name: line[:i], Value: trimOWS(value)}, nil
}

// framing collects the fields that decide how a message is delimited and
// whether its connection persists.
type framing struct {
	contentLength int64 // -1 when absent
	teCount       int
	te            []byte
	close, keep   bool // Connection: close / keep-alive
	upgrade       bool // Connection: upgrade
	// options: Connection lists an option other than keep-alive.
	options      bool
	upgradeValue []byte
	hostCount    int
	host         []byte
	expect100    bool
	expectOther  bool
}

func (f *framing) scan(hs []Header) error {
	*f = framing{contentLength: -1}
	for i := range hs {
		if err := f.add(&hs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (f *framing) add(h *Header) error {
	n, v := h.Name, h.Value
	switch len(n) {
	case 4:
		if EqualLower(n, "host") {
			f.hostCount++
			f.host = v
		}
	case 6:
		if EqualLower(n, "expect") {
			if EqualLower(v, "100-continue") {
				f.expect100 = true
			} else {
				f.expectOther = true
			}
		}
	case 7:
		if EqualLower(n, "upgrade") && f.upgradeValue == nil {
			f.upgradeValue = v
		}
	case 10:
		if EqualLower(n, "connection") {
			return f.connection(v)
		}
	case 14:
		if EqualLower(n, "content-length") {
			cl, err := parseContentLength(v, f.contentLength)
			f.contentLength = cl
			return err
		}
	case 17:
		if EqualLower(n, "transfer-encoding") {
			f.teCount++
			f.te = v
		}
	}
	return nil
}

func (f *framing) connection(v []byte) error {
	for len(v) > 0 {
		var tok []byte
		tok, v = nextElement(v)
		switch {
		case len(tok) == 0:
		case !isToken(tok):
			return badRequest("malformed Connection field")
		case EqualLower(tok, "keep-alive"):
			f.keep = true
		case EqualLower(tok, "close"):
			f.close, f.options = true, true
		case EqualLower(tok, "upgrade"):
			f.upgrade, f.options = true, true
		default:
			f.options = true
		}
	}
	return nil
}

// keepAlive applies RFC 9112 9.3: HTTP/1.1 persists unless closed, HTTP/1.0
// only when asked to.
func (f *framing) keepAlive(minor int) bool {
	if f.close {
		return false
	}
	return minor == 1 || f.keep
}

// parseContentLength parses a Content-Length value (RFC 9110 8.6): a list
// of identical decimal numbers. prev is the value of an earlier field or -1.
func parseContentLength(v []byte, prev int64) (int64, error) {
	if len(v) == 0 {
		return prev, badRequest("empty Content-Length")
	}
	for len(v) > 0 {
		var elem []byte
		elem, v = nextElement(v)
		n, ok := parseDecimal(elem)
		if !ok {
			return prev, badRequest("invalid Content-Length")
		}
		if prev >= 0 && n != prev {
			return prev, ambiguous("differing Content-Length values")
		}
		prev = n
	}
	return prev, nil
}

// parseDecimal parses 1*DIGIT up to math.MaxInt64.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// checkChunked accepts a Transfer-Encoding that is exactly one field whose
// only coding is chunked. A well-formed list ending in one chunked is
// unsupported (501); anything else is ambiguous framing.
func (f *framing) checkChunked(minor int) error {
	if minor == 0 {
		return ambiguous("Transfer-Encoding in HTTP/1.0")
	}
	if f.contentLength >= 0 {
		return ambiguous("both Content-Length and Transfer-Encoding")
	}
	if f.teCount > 1 {
		return ambiguous("more than one Transfer-Encoding field")
	}
	codings, chunked, v := 0, 0, f.te
	var last []byte
	for {
		// A nil rest means no comma followed: the list has ended.
		last, v = nextElement(v)
		if !isToken(last) {
			return ambiguous("malformed Transfer-Encoding")
		}
		codings++
		if EqualLower(last, "chunked") {
			chunked++
		}
		if v == nil {
			break
		}
	}
	switch {
	case !EqualLower(last, "chunked") || chunked > 1:
		return ambiguous("Transfer-Encoding does not end in one chunked")
	case codings > 1:
		return &Error{Status: 501, Code: CodeUnsupportedTransferCoding, Msg: "transfer codings other than chunked"}
	}
	return nil
}

// IsHopByHop reports whether the field named name is hop-by-hop
// (RFC 9110 7.6.1, plus Keep-Alive and Proxy-Connection): a proxy must not
// forward it.
func IsHopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return EqualLower(name, "te")
	case 7:
		return EqualLower(name, "trailer") || EqualLower(name, "upgrade")
	case 10:
		return EqualLower(name, "connection") || EqualLower(name, "keep-alive")
	case 16:
		return EqualLower(name, "proxy-connection")
	case 17:
		return EqualLower(name, "transfer-encoding")
	case 18:
		return EqualLower(name, "proxy-authenticate")
	case 19:
		return EqualLower(name, "proxy-authorization")
	}
	return false
}

// ConnectionHas reports whether a Connection field of headers lists name
// (case-insensitive): such a field is hop-by-hop too (RFC 9110 7.6.1).
func ConnectionHas(headers []Header, name []byte) bool {
	for i := range headers {
		if EqualLower(headers[i].Name, "connection") && ListHas(headers[i].Value, name) {
			return true
		}
	}
	return false
}

// ListHas reports whether the comma-separated list v (a field value such
// as Connection or Upgrade, RFC 9110 5.6.1) has the element elem, compared
// case-insensitively.
func ListHas(v, elem []byte) bool {
	for len(v) > 0 {
		var e []byte
		e, v = nextElement(v)
		if equalFold(e, elem) {
			return true
		}
	}
	return false
}
