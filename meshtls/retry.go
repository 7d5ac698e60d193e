package meshtls

import (
	"net/http"
	"strings"
)

// unsentErrors are the messages of net/http's HTTP/2 client for a request
// that the server certainly did not process, the errors on which its own
// Transport sends a request again: the connection became unusable (closed,
// or a GOAWAY arrived) before the request was written, or the server's
// GOAWAY or REFUSED_STREAM turned the request's stream away. net/http does
// not export them (they are its http2errClientConnUnusable,
// http2errClientConnGotGoAway and StreamError), so they are matched by
// text; TestUnsentMatchesNetHTTP checks that text against net/http.
var unsentErrors = []string{
	"http2: client conn not usable",
	"http2: Transport received Server's graceful shutdown GOAWAY",
}

// unsent reports whether err says that the destination did not process
// the request, so that it may be sent again on another connection.
func unsent(err error) bool {
	msg := err.Error()
	for _, s := range unsentErrors {
		if msg == s {
			return true
		}
	}
	return strings.HasPrefix(msg, "stream error: ") && strings.HasSuffix(msg, "; REFUSED_STREAM")
}

// rewind returns req ready to be sent again, ok false if its body cannot
// be read again.
func rewind(req *http.Request) (_ *http.Request, ok bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	r := *req
	r.Body = body
	return &r, true
}
