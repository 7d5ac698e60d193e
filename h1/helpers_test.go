package h1

import (
	"errors"
	"io"
	"strings"
)

// reqView is a Request with strings, for cmp.Diff.
type reqView struct {
	Method, Target, Path, Query, Host, Upgrade string
	Minor                                      int
	Headers                                    []string
	ContentLength                              int64
	Chunked, KeepAlive, Expect100              bool
}

func viewRequest(r *Request) reqView {
	return reqView{
		Method: string(r.Method), Target: string(r.Target), Path: string(r.Path), Query: string(r.Query),
		Host: string(r.Host), Upgrade: string(r.Upgrade), Minor: r.Minor, Headers: viewHeaders(r.Headers),
		ContentLength: r.ContentLength, Chunked: r.Chunked, KeepAlive: r.KeepAlive, Expect100: r.Expect100,
	}
}

func viewHeaders(hs []Header) []string {
	var out []string
	for _, h := range hs {
		out = append(out, string(h.Name)+": "+string(h.Value))
	}
	return out
}

// errView is the status and code of an *Error, or the error text.
type errView struct {
	Status int
	Code   string
}

func viewError(err error) errView {
	var he *Error
	if errors.As(err, &he) {
		return errView{he.Status, he.Code}
	}
	if err != nil {
		return errView{Code: err.Error()}
	}
	return errView{}
}

func parseRequest(raw string, lim Limits) (*Request, *Reader, error) {
	r := NewReader(strings.NewReader(raw), 64<<10)
	req := new(Request)
	err := r.ReadRequest(req, lim)
	return req, r, err
}

// readBody reads the whole body of the current message.
func readBody(r *Reader, cl int64, chunked bool) (string, error) {
	b, err := io.ReadAll(r.BodyReader(cl, chunked))
	return string(b), err
}
