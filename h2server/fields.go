package h2server

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

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
