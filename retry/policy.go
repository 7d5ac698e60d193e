package retry

import (
	"fmt"
	"strconv"
	"time"
)

// Condition is a set of transport-level failures a route retries on.
type Condition uint16

// Conditions the proxy reports for a failed try.
const (
	// ConnectFailure is a failed dial or TLS handshake: the request never
	// reached the upstream, so retrying it is always safe.
	ConnectFailure Condition = 1 << iota
	// Reset is a connection lost after the request was (partly) sent.
	Reset
	// RefusedStream is an HTTP/2 REFUSED_STREAM or GOAWAY that did not
	// cover the stream: the upstream promises it did not process it.
	RefusedStream
)

// conditionWords maps the words of a route's retries.on list to conditions.
var conditionWords = map[string]Condition{
	"connect_failure": ConnectFailure,
	"reset":           Reset,
	"refused_stream":  RefusedStream,
}

// Statuses is a set of HTTP status codes from 500 to 599. The zero value is
// empty.
type Statuses [2]uint64

const (
	minStatus = 500
	maxStatus = 599
)

// Add puts code in the set; codes outside 500-599 are ignored.
func (s *Statuses) Add(code int) {
	if code >= minStatus && code <= maxStatus {
		i := code - minStatus
		s[i/64] |= 1 << (i % 64)
	}
}

// Has reports whether code is in the set.
func (s *Statuses) Has(code int) bool {
	if code < minStatus || code > maxStatus {
		return false
	}
	i := code - minStatus
	return s[i/64]&(1<<(i%64)) != 0
}

// On is what a route retries on: transport conditions and response statuses.
type On struct {
	Conditions Condition
	Statuses   Statuses
}

// ParseOn parses a route's retries.on list. Each word is a condition
// (connect_failure, reset, refused_stream) or a status code from 500 to 599
// ("503"); anything else is an error. The words are those config accepts.
func ParseOn(words []string) (On, error) {
	var on On
	for _, w := range words {
		if c, ok := conditionWords[w]; ok {
			on.Conditions |= c
			continue
		}
		code, err := strconv.Atoi(w)
		if err != nil || len(w) != 3 || code < minStatus || code > maxStatus {
			return On{}, fmt.Errorf("parse retry condition %q: want connect_failure, reset, refused_stream or a status from 500 to 599", w)
		}
		on.Statuses.Add(code)
	}
	return on, nil
}

// Policy is a route's retry policy, compiled from config. It is immutable
// and safe for concurrent use.
type Policy struct {
	// Attempts is how many retries may follow the first try (so at most
	// Attempts+1 tries in all). Zero disables retries.
	Attempts int
	// On is which failures are retried.
	On On
	// NonIdempotent allows retrying methods that are not idempotent (POST,
	// PATCH). False retries them only on ConnectFailure and RefusedStream,
	// where the upstream never processed the request.
	NonIdempotent bool
	// PerTryTimeout bounds each try; zero means only the route's overall
	// timeout applies. A try that runs out counts as a 504 for On.
	PerTryTimeout time.Duration
	// BackoffBase and BackoffMax parameterize Backoff between tries. A zero
	// base retries at once; a zero max leaves the backoff uncapped.
	BackoffBase, BackoffMax time.Duration
}

// Retryable reports whether the policy retries a try that failed with cond.
func (p *Policy) Retryable(cond Condition) bool { return p.On.Conditions&cond != 0 }

// RetryableStatus reports whether the policy retries a try answered with
// status code.
func (p *Policy) RetryableStatus(code int) bool { return p.On.Statuses.Has(code) }

// MethodAllowed reports whether a request with method may be retried after
// a failure of kind cond (zero for a failure by response status): always for
// idempotent methods or when the policy allows non-idempotent ones, and
// otherwise only when the failure proves the upstream never saw the request.
func (p *Policy) MethodAllowed(method []byte, cond Condition) bool {
	return p.NonIdempotent || IdempotentMethod(method) || cond&(ConnectFailure|RefusedStream) != 0
}

// Backoff is the wait before retry number attempt under this policy.
func (p *Policy) Backoff(attempt int) time.Duration {
	return Backoff(attempt, p.BackoffBase, p.BackoffMax)
}

// IdempotentMethod reports whether method is idempotent by RFC 9110 section
// 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE. Methods are
// case-sensitive.
func IdempotentMethod(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}
