package meshtls

import (
	"errors"
	"net/http"

	"github.com/pylon-mesh/pylon/h2client"
)

// unsent reports whether err says that the destination did not process
// the request (the connection was unusable before it was written, or a
// GOAWAY or REFUSED_STREAM turned it away), so that it may be sent again
// on another connection.
func unsent(err error) bool { return errors.Is(err, h2client.ErrUnsent) }

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
