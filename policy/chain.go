package policy

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/pylon-mesh/pylon/flow"
)

// Request is what a policy reads of a request.
type Request interface {
	// Header returns the first value of the field named name (lower case).
	Header(name string) (string, bool)
	// HeaderBytes is Header without a copy: the bytes stay valid until
	// the policy check returns and must not be modified.
	HeaderBytes(name string) ([]byte, bool)
	// Query returns the first value of the query parameter name,
	// percent-decoded.
	Query(name string) (string, bool)
	// ClientIP is the client's address, after trusted proxies.
	ClientIP() netip.Addr
}

// Outcome is what a request that passed a chain carries on. The zero
// Outcome is a request no policy touched; Reset makes one reusable.
type Outcome struct {
	// Consumer is the identity the request authenticated as ("" when no
	// policy authenticates). It reaches the upstream as ConsumerHeader.
	Consumer string
	// StripHeader is the lower-case header holding the credential, to be
	// removed before forwarding ("" to keep every header).
	StripHeader string
	// StripQuery is the query parameter holding the credential, to be
	// removed before forwarding ("" to keep the query).
	StripQuery string
	// Limit is the state of the tightest rate limit the request passed;
	// Limit.Limit is 0 when no limit applied.
	Limit LimitState
}

// Reset clears o for the next request.
func (o *Outcome) Reset() { *o = Outcome{} }

// LimitState is a rate limit as the response reports it.
type LimitState struct {
	// Limit is the burst: the requests allowed at once.
	Limit int
	// Remaining is what is left of it after this request.
	Remaining int
	// ResetSeconds is when the full burst is available again.
	ResetSeconds int64
}

// The fields a response of a rate-limited route carries (the RateLimit
// fields of the IETF httpapi working group's draft, in the form most
// clients read: a number each, the reset in seconds).
const (
	limitHeader     = "RateLimit-Limit"
	remainingHeader = "RateLimit-Remaining"
	resetHeader     = "RateLimit-Reset"
)

// AppendHeader appends the state's RateLimit fields in HTTP/1.1 form, or
// nothing when no limit applied.
func (s *LimitState) AppendHeader(dst []byte) []byte {
	if s.Limit == 0 {
		return dst
	}
	dst = append(dst, limitHeader+": "...)
	dst = strconv.AppendInt(dst, int64(s.Limit), 10)
	dst = append(dst, "\r\n"+remainingHeader+": "...)
	dst = strconv.AppendInt(dst, int64(s.Remaining), 10)
	dst = append(dst, "\r\n"+resetHeader+": "...)
	dst = strconv.AppendInt(dst, s.ResetSeconds, 10)
	return append(dst, '\r', '\n')
}

// SetHeader sets the state's RateLimit fields in h, or nothing when no
// limit applied.
func (s *LimitState) SetHeader(h http.Header) {
	if s.Limit == 0 {
		return
	}
	h[limitHeader] = []string{strconv.Itoa(s.Limit)}
	h[remainingHeader] = []string{strconv.Itoa(s.Remaining)}
	h[resetHeader] = []string{strconv.FormatInt(s.ResetSeconds, 10)}
}

// ConsumerHeader carries the authenticated consumer to the upstream. Pylon
// removes any value a client sends, on every route.
const ConsumerHeader = "X-Pylon-Consumer"

// Chain is a route's policies, compiled, in the route's order.
type Chain struct {
	steps []*compiled
}

// MayWait reports whether checking a request may wait on the network (a
// rate limit counted in Redis, JWT keys fetched from a JWKS URL); a chain
// that does not only computes, from memory.
func (c *Chain) MayWait() bool {
	for _, p := range c.steps {
		if p.waits {
			return true
		}
	}
	return false
}

// Check runs the chain on r, filling o. A nil error lets the request on.
func (c *Chain) Check(ctx context.Context, r Request, o *Outcome) *flow.Error {
	for _, p := range c.steps {
		if fe := p.check(ctx, r, o); fe != nil {
			return fe
		}
	}
	return nil
}
