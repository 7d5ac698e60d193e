package proxy

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateValue is the HTTP Date value of the current second. Responses pylon
// writes itself carry a Date (RFC 9110 section 6.6.1); formatting one per
// response would allocate, so it is formatted once a second.
type dateValue struct {
	sec int64
	b   []byte
}

var currentDate atomic.Pointer[dateValue]

// httpDate returns the Date value for now. The slice must not be modified.
func httpDate(now time.Time) []byte {
	sec := now.Unix()
	if d := currentDate.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &dateValue{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	currentDate.Store(d)
	return d.b
}
