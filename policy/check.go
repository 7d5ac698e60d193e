package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/jwtauth"
	"github.com/pylon-mesh/pylon/ratelimit"
)

// authn is a compiled Authentication.
type authn struct {
	keyHeader  string // lower case; "" when keys come only in the query
	keyQuery   string
	keys       map[[sha256.Size]byte]string // nil: no API keys accepted
	jwt        *jwtauth.Verifier
	forward    bool
	challenges []string // WWW-Authenticate values of a 401
}

// limiter is a compiled RateLimit.
type limiter struct {
	policy      string
	limit       ratelimit.Limit
	perConsumer map[string]ratelimit.Limit
	by          string
	header      string
	store       ratelimit.Limiter
	// remote is set when store is Redis: a call is bounded by storeTimeout.
	remote bool
	prefix string
	deny   bool
	failed func(policy string, err error)
}

// keyBufs holds the buffers rate-limit keys are built in.
var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

// storeTimeout bounds how long a request waits for a shared limit's count.
const storeTimeout = 250 * time.Millisecond

func (p *compiled) check(ctx context.Context, r Request, o *Outcome) *flow.Error {
	if p.auth != nil {
		if fe := p.auth.check(ctx, r, o); fe != nil {
			return fe
		}
	}
	if p.allow != nil && !p.allow[o.Consumer] {
		return flow.New(403, flow.CodeForbidden, "consumer "+strconv.Quote(o.Consumer)+" may not use this route")
	}
	if p.limit != nil {
		return p.limit.check(ctx, r, o)
	}
	return nil
}

func (a *authn) check(ctx context.Context, r Request, o *Outcome) *flow.Error {
	if a.jwt != nil {
		if v, ok := r.Header("authorization"); ok {
			if token, ok := bearer(v); ok {
				return a.checkToken(ctx, token, o)
			}
		}
	}
	if a.keys != nil {
		if sum, ok := a.apiKey(r, o); ok {
			consumer, found := a.keys[sum]
			if !found {
				return a.refuse(flow.CodeInvalidCredentials, "the API key is not valid", "")
			}
			o.Consumer = consumer
			return nil
		}
	}
	return a.refuse(flow.CodeUnauthenticated, "this route needs credentials", "")
}

// apiKey finds the request's API key, header first, notes where it was so
// it can be stripped, and returns its SHA-256 hash, which is how keys are
// looked up.
func (a *authn) apiKey(r Request, o *Outcome) (sum [sha256.Size]byte, ok bool) {
	if a.keyHeader != "" {
		if v, ok := r.HeaderBytes(a.keyHeader); ok {
			if !a.forward {
				o.StripHeader = a.keyHeader
			}
			return sha256.Sum256(v), true
		}
	}
	if a.keyQuery != "" {
		if v, ok := r.Query(a.keyQuery); ok {
			if !a.forward {
				o.StripQuery = a.keyQuery
			}
			return sha256.Sum256([]byte(v)), true
		}
	}
	return sum, false
}

func (a *authn) checkToken(ctx context.Context, token string, o *Outcome) *flow.Error {
	id, err := a.jwt.Verify(ctx, token)
	if err != nil {
		var je *jwtauth.Error
		if errors.As(err, &je) && je.Reason == jwtauth.KeysUnavailable {
			return flow.Wrap(503, flow.CodeAuthUnavailable, "the keys that check tokens cannot be fetched", err)
		}
		msg := "the token is not valid"
		if je != nil {
			msg += ": " + je.Message
		}
		fe := a.refuse(flow.CodeInvalidCredentials, msg, msg)
		fe.Err = err
		return fe
	}
	o.Consumer = id
	if !a.forward {
		o.StripHeader = "authorization"
	}
	return nil
}

// refuse builds a 401 with a challenge per accepted credential; a bearer
// challenge carries RFC 6750's invalid_token error when tokenProblem is set.
func (a *authn) refuse(code flow.Code, msg, tokenProblem string) *flow.Error {
	fe := flow.New(401, code, msg)
	for _, c := range a.challenges {
		if tokenProblem != "" && strings.HasPrefix(c, "Bearer ") {
			c += `, error="invalid_token", error_description=` + quoted(tokenProblem)
		}
		fe.Header = append(fe.Header, flow.Field{Name: "WWW-Authenticate", Value: c})
	}
	return fe
}

// bearer returns the token of an Authorization value using the Bearer
// scheme, whose name is case-insensitive (RFC 9110 11.1).
func bearer(v string) (string, bool) {
	const scheme = "bearer "
	if len(v) <= len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimLeft(v[len(scheme):], " "), true
}

// quoted makes s an RFC 9110 quoted-string of printable ASCII.
func quoted(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

func (l *limiter) check(ctx context.Context, r Request, o *Outcome) *flow.Error {
	lim := l.limit
	// The key is built in a reused buffer, then copied once into the
	// string the store takes (and may keep).
	bp := keyBufs.Get().(*[]byte)
	defer keyBufs.Put(bp)
	key := append((*bp)[:0], l.prefix...)
	switch l.by {
	case config.RateLimitByConsumer:
		key = append(key, o.Consumer...)
		if c, ok := l.perConsumer[o.Consumer]; ok {
			lim = c
		}
	case config.RateLimitByHeader:
		v, _ := r.HeaderBytes(l.header)
		key = append(key, v...)
	default:
		key = r.ClientIP().AppendTo(key)
	}
	*bp = key
	if l.remote {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, storeTimeout)
		defer cancel()
	}
	res, err := l.store.Allow(ctx, string(key), lim)
	if err != nil {
		if l.failed != nil {
			l.failed(l.policy, err)
		}
		if l.deny {
			return flow.Wrap(503, flow.CodeRateLimitUnavailable, "the rate limit cannot be checked", err)
		}
		return nil
	}
	state := LimitState{Limit: lim.Burst, Remaining: res.Remaining, ResetSeconds: ceilSeconds(res.ResetAfter)}
	if !res.Allowed {
		state.Remaining = 0
		fe := flow.New(429, flow.CodeRateLimited, "too many requests; retry after the time in Retry-After")
		fe.Header = append(state.fields(), flow.Field{Name: "Retry-After", Value: strconv.FormatInt(max(1, ceilSeconds(res.RetryAfter)), 10)})
		return fe
	}
	if o.Limit.Limit == 0 || state.Remaining < o.Limit.Remaining {
		o.Limit = state
	}
	return nil
}

// fields returns the RateLimit-* header fields of the state.
func (s LimitState) fields() []flow.Field {
	return []flow.Field{
		{Name: limitHeader, Value: strconv.Itoa(s.Limit)},
		{Name: remainingHeader, Value: strconv.Itoa(s.Remaining)},
		{Name: resetHeader, Value: strconv.FormatInt(s.ResetSeconds, 10)},
	}
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
