package h1

// Response is a parsed response head. Its slices alias the Reader's buffer.
type Response struct {
	// Minor is the minor version: HTTP/1.<Minor>, 0 or 1.
	Minor  int
	Status int
	Reason []byte
	// Headers holds every field in order; its capacity is reused.
	Headers []Header
	// ContentLength is the body length: 0 without a body, -1 when unknown
	// (chunked, or delimited by the connection's close).
	ContentLength int64
	Chunked       bool
	// KeepAlive: the connection may carry another request.
	KeepAlive bool
	// CloseDelimited: the body runs to the connection's close.
	CloseDelimited bool
	// ConnectionOptions is set when a Connection field lists an option
	// other than keep-alive. Without one, ConnectionHas is false for every
	// field name but Keep-Alive, itself hop-by-hop: a proxy need not ask.
	ConnectionOptions bool
}

// Header returns the first value of the field named name, which must be
// lower-case; the comparison ignores case.
func (r *Response) Header(name string) ([]byte, bool) { return lookup(r.Headers, name) }

// Reset clears r, keeping the capacity of Headers.
func (r *Response) Reset() {
	*r = Response{Headers: r.Headers[:0]}
}

// ReadResponse reads the next response head into resp. method is that of
// the request it answers: a response to HEAD has no body, nor has a 1xx, 204
// or 304, nor a 2xx to CONNECT. A 1xx is returned as it is; the caller
// reads again for the final response. Errors are as for ReadRequest.
func (r *Reader) ReadResponse(resp *Response, lim Limits, method []byte) error {
	if err := r.begin(lim); err != nil {
		return err
	}
	resp.Reset()
	if err := r.readResponse(resp, method); err != nil {
		return r.fail(err)
	}
	return nil
}

func (r *Reader) readResponse(resp *Response, method []byte) error {
	line, err := r.headLine(0)
	if err != nil {
		return err
	}
	if err := parseStatusLine(resp, line); err != nil {
		return err
	}
	if resp.Headers, err = r.readFields(resp.Headers); err != nil {
		return err
	}
	var f framing
	if err := f.scan(resp.Headers); err != nil {
		return err
	}
	if err := responseFraming(resp, &f, method); err != nil {
		return err
	}
	r.endHead(len(resp.Headers), resp.Chunked || resp.ContentLength > 0 || resp.CloseDelimited)
	return nil
}

// parseStatusLine parses HTTP-version SP 3DIGIT [SP reason-phrase]. The
// SP and reason may be missing, as some servers send.
func parseStatusLine(resp *Response, line []byte) error {
	if len(line) < 12 || line[8] != ' ' {
		return badRequest("malformed status line")
	}
	minor, err := parseVersion(line[:8])
	if err != nil {
		return err
	}
	resp.Minor = minor
	s := line[9:12]
	if !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) {
		return badRequest("malformed status code")
	}
	resp.Status = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	if resp.Status < 100 || resp.Status > 599 {
		return badRequest("status code out of range")
	}
	if len(line) == 12 {
		return nil
	}
	if line[12] != ' ' {
		return badRequest("malformed status line")
	}
	for _, c := range line[13:] {
		if !valueChar[c] {
			return badRequest("control byte in reason phrase")
		}
	}
	resp.Reason = line[13:]
	return nil
}

// responseFraming applies RFC 9112 6.3 to a response.
func responseFraming(resp *Response, f *framing, method []byte) error {
	st := resp.Status
	if (st < 200 || st == 204) && (f.teCount > 0 || f.contentLength > 0) {
		return badRequest("1xx or 204 response with a body")
	}
	if f.teCount > 0 {
		if err := f.checkChunked(resp.Minor); err != nil {
			return err
		}
	}
	resp.KeepAlive = f.keepAlive(resp.Minor)
	resp.ConnectionOptions = f.options
	noBody := st < 200 || st == 204 || st == 304 || string(method) == "HEAD" ||
		(string(method) == "CONNECT" && st < 300)
	switch {
	case noBody:
	case f.teCount > 0:
		resp.ContentLength, resp.Chunked = -1, true
	case f.contentLength >= 0:
		resp.ContentLength = f.contentLength
	default:
		resp.ContentLength, resp.CloseDelimited, resp.KeepAlive = -1, true, false
	}
	return nil
}
