package h2server

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// commonLower maps header names handlers commonly set, in canonical form,
// to their lower-case form, so sending them allocates nothing.
var commonLower = map[string]string{}

func init() {
	for _, k := range []string{
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
	}
}

// lowerName returns a header name in lower case, as HTTP/2 sends it.
func lowerName(k string) string {
	if v, ok := commonLower[k]; ok {
		return v
	}
	return strings.ToLower(k)
}

// statusTexts holds the :status values of 100 to 599.
var statusTexts [500]string

func init() {
	for i := range statusTexts {
		statusTexts[i] = strconv.Itoa(100 + i)
	}
}

// statusText is code as a :status value.
func statusText(code int) string {
	if code >= 100 && code < 600 {
		return statusTexts[code-100]
	}
	return strconv.Itoa(code)
}

// dateCache holds the Date value of the current second.
type dateCache struct {
	unix  int64
	value string
}

var date atomic.Pointer[dateCache]

// httpDate returns the current time as a Date field value, formatted once
// a second.
func httpDate() string {
	now := time.Now()
	if d := date.Load(); d != nil && d.unix == now.Unix() {
		return d.value
	}
	d := &dateCache{unix: now.Unix(), value: now.UTC().Format(http.TimeFormat)}
	date.Store(d)
	return d.value
}
