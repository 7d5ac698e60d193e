package h1

import "bytes"

// Request is a parsed request head. Its slices alias the Reader's buffer.
type Request struct {
	Method, Target []byte
	// Path is the target up to '?', Query what follows it (without '?').
	// For an absolute-form target they are those of its path part ("/" when
	// the path is empty); for "*" Path is "*"; for CONNECT both are empty.
	Path, Query []byte
	// Minor is the minor version: HTTP/1.<Minor>, 0 or 1.
	Minor int
	// Headers holds every field in order; its capacity is reused.
	Headers []Header
	// Host is the authority of an absolute-form or authority-form target,
	// else the Host field (nil for HTTP/1.0 without one).
	Host []byte
	// ContentLength is the body length: -1 when chunked, 0 without a body.
	ContentLength int64
	Chunked       bool
	// KeepAlive: the connection may serve another request after this one.
	KeepAlive bool
	// Upgrade is the Upgrade field when Connection lists "upgrade" (HTTP/1.1
	// only), else nil.
	Upgrade []byte
	// Expect100 is set by "Expect: 100-continue" in HTTP/1.1.
	Expect100 bool
	// ConnectionOptions is set when a Connection field lists an option
	// other than keep-alive. Without one, ConnectionHas is false for every
	// field name but Keep-Alive, itself hop-by-hop: a proxy need not ask.
	ConnectionOptions bool
}

// slash is the path of an absolute-form target with an empty path.
var slash = []byte("/")

// Header returns the first value of the field named name, which must be
// lower-case; the comparison ignores case.
func (r *Request) Header(name string) ([]byte, bool) { return lookup(r.Headers, name) }

// Reset clears r, keeping the capacity of Headers.
func (r *Request) Reset() {
	*r = Request{Headers: r.Headers[:0]}
}

// ReadRequest reads the next request head into req. It returns io.EOF when
// the connection closed cleanly before a request, an *Error for a malformed
// or too large head (sticky: the connection must be closed), ErrUnreadBody
// when the previous body was not read to its end, or the source's error.
// The body, if any, is read with BodyReader(req.ContentLength, req.Chunked).
func (r *Reader) ReadRequest(req *Request, lim Limits) error {
	if err := r.begin(lim); err != nil {
		return err
	}
	req.Reset()
	if err := r.readRequest(req); err != nil {
		return r.fail(err)
	}
	return nil
}

func (r *Reader) readRequest(req *Request) error {
	line, err := r.requestLine()
	if err != nil {
		return err
	}
	if err := parseRequestLine(req, line, r.lim.MaxURIBytes); err != nil {
		return err
	}
	if req.Headers, err = r.readFields(req.Headers); err != nil {
		return err
	}
	var f framing
	if err := f.scan(req.Headers); err != nil {
		return err
	}
	if err := requestSemantics(req, &f); err != nil {
		return err
	}
	r.endHead(len(req.Headers), req.Chunked || req.ContentLength > 0)
	return nil
}

// requestLine returns the request line, skipping a few empty lines.
func (r *Reader) requestLine() ([]byte, error) {
	for range maxEmptyLines + 1 {
		line, err := r.headLine(r.lim.MaxURIBytes)
		if err != nil || len(line) > 0 {
			return line, err
		}
	}
	return nil, badRequest("too many empty lines before the request line")
}

// parseRequestLine parses method SP request-target SP HTTP-version.
func parseRequestLine(req *Request, line []byte, maxURI int) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || !isToken(line[:sp]) {
		return badRequest("malformed method")
	}
	req.Method = line[:sp]
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return badRequest("malformed request line")
	}
	req.Target = rest[:sp]
	if len(req.Target) > maxURI {
		return &Error{Status: 414, Code: CodeURITooLong, Msg: "request-target too long"}
	}
	minor, err := parseVersion(rest[sp+1:])
	if err != nil {
		return err
	}
	req.Minor = minor
	return parseTarget(req)
}

// parseVersion accepts HTTP/1.0 and HTTP/1.1; another HTTP/x.y is 505.
func parseVersion(v []byte) (int, error) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return 0, badRequest("malformed HTTP version")
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, &Error{Status: 505, Code: CodeVersionNotSupported, Msg: "HTTP version not supported"}
	}
	return int(v[7] - '0'), nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// parseTarget checks the request-target's form against the method
// (RFC 9112 3.2) and splits it.
func parseTarget(req *Request) error {
	t := req.Target
	if len(t) == 0 {
		return badRequest("empty request-target")
	}
	for _, c := range t {
		if !targetChar[c] {
			return badRequest("invalid byte in request-target")
		}
	}
	isConnect := string(req.Method) == "CONNECT"
	switch {
	case isConnect:
		if !validAuthority(t, true) {
			return badRequest("CONNECT needs an authority-form target")
		}
		req.Host = t
	case t[0] == '/':
		req.Path, req.Query = splitQuery(t)
	case len(t) == 1 && t[0] == '*':
		if string(req.Method) != "OPTIONS" {
			return badRequest("asterisk-form target on a method other than OPTIONS")
		}
		req.Path = t
	default:
		return parseAbsolute(req, t)
	}
	return nil
}

func splitQuery(t []byte) (path, query []byte) {
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		return t[:i], t[i+1:]
	}
	return t, nil
}

// parseAbsolute parses an absolute-form http or https target.
func parseAbsolute(req *Request, t []byte) error {
	var rest []byte
	switch {
	case len(t) > 7 && EqualLower(t[:7], "http://"):
		rest = t[7:]
	case len(t) > 8 && EqualLower(t[:8], "https://"):
		rest = t[8:]
	default:
		return badRequest("malformed request-target")
	}
	end := bytes.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	if !validAuthority(rest[:end], false) {
		return badRequest("invalid authority in request-target")
	}
	req.Host = rest[:end]
	req.Path, req.Query = splitQuery(rest[end:])
	if len(req.Path) == 0 {
		req.Path = slash
	}
	return nil
}

// validAuthority checks host[:port] (no userinfo); needPort for CONNECT.
func validAuthority(a []byte, needPort bool) bool {
	if len(a) == 0 {
		return false
	}
	for _, c := range a {
		if !hostChar[c] {
			return false
		}
	}
	host, port := a, []byte(nil)
	if i := bytes.LastIndexByte(a, ':'); i >= 0 && bytes.IndexByte(a[i:], ']') < 0 {
		host, port = a[:i], a[i+1:]
		if _, ok := parseDecimal(port); !ok || len(port) > 5 {
			return false
		}
	}
	if needPort && port == nil {
		return false
	}
	return len(host) > 0 && validHost(host)
}

// validHost checks that brackets appear only around an IP-literal.
func validHost(h []byte) bool {
	if h[0] == '[' {
		return len(h) > 2 && h[len(h)-1] == ']' && !bytes.ContainsAny(h[1:len(h)-1], "[]")
	}
	return !bytes.ContainsAny(h, "[]:")
}

// requestSemantics applies Host, framing, connection and Expect rules.
func requestSemantics(req *Request, f *framing) error {
	if f.hostCount > 1 || (req.Minor == 1 && f.hostCount == 0) {
		return &Error{Status: 400, Code: CodeMissingHost, Msg: "a request needs exactly one Host field"}
	}
	if f.hostCount == 1 {
		if len(f.host) == 0 {
			return &Error{Status: 400, Code: CodeMissingHost, Msg: "empty Host field"}
		}
		if !validAuthority(f.host, false) {
			return badRequest("invalid Host field")
		}
		if req.Host == nil {
			req.Host = f.host
		}
	}
	if f.teCount > 0 {
		if err := f.checkChunked(req.Minor); err != nil {
			return err
		}
		req.ContentLength, req.Chunked = -1, true
	} else if f.contentLength > 0 {
		req.ContentLength = f.contentLength
	}
	if f.expectOther {
		return &Error{Status: 417, Code: CodeExpectationFailed, Msg: "unsupported expectation"}
	}
	req.Expect100 = f.expect100 && req.Minor == 1
	req.KeepAlive = f.keepAlive(req.Minor)
	req.ConnectionOptions = f.options
	if f.upgrade && req.Minor == 1 && len(f.upgradeValue) > 0 {
		req.Upgrade = f.upgradeValue
	}
	return nil
}
