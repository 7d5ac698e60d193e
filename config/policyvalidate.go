package config

import (
	"net/url"
	"os"
	"strings"
	"time"
)

// jwtAlgorithms are the JWS algorithms a JWT policy may accept.
var jwtAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"}

func (v *validator) consumers() {
	names := map[string]bool{}
	keys := map[string]string{} // hashed key -> path of its first use
	for i := range v.c.Consumers {
		u := &v.c.Consumers[i]
		p := index("consumers", i)
		v.name(p+".name", "consumer", u.Name, nameRE, names)
		v.notEmpty(p+".api_keys", u.APIKeys != nil && len(u.APIKeys) == 0, "leave it out")
		for j, k := range u.APIKeys {
			kp := index(p+".api_keys", j)
			switch {
			case isHashedAPIKey(k):
			case strings.HasPrefix(k, APIKeyHashPrefix):
				v.errorf(kp, "a hashed key is %q and 64 lower-case hex digits (the SHA-256 of the key)", APIKeyHashPrefix)
				continue
			case !validAPIKey(k):
				v.errorf(kp, "an API key is printable ASCII without spaces")
				continue
			default:
				v.errorf(kp, "an API key needs at least %d characters, found %d; use a random one (openssl rand -hex 24)", MinAPIKeyLength, len(k))
				continue
			}
			if first, dup := keys[k]; dup {
				v.errorf(kp, "the same API key is already at %s; every key names one consumer", first)
			} else {
				keys[k] = kp
			}
		}
		if r := u.RateLimit; r != nil {
			v.rate(p+".rate_limit", r.Requests, r.Per, r.Burst)
		}
	}
	v.consumerNames = names
}

func (v *validator) policies() {
	names := map[string]bool{}
	for i := range v.c.Policies {
		pol := &v.c.Policies[i]
		p := index("policies", i)
		v.name(p+".name", "policy", pol.Name, nameRE, names)
		if pol.Authentication == nil && pol.AllowConsumers == nil && pol.RateLimit == nil && !v.childFailed(p) {
			v.errorf(p, "a policy needs at least one of authentication, allow_consumers, rate_limit")
		}
		if a := pol.Authentication; a != nil {
			v.authentication(p+".authentication", a)
		}
		v.notEmpty(p+".allow_consumers", pol.AllowConsumers != nil && len(pol.AllowConsumers) == 0, "leave it out to admit every authenticated caller")
		if pol.AllowConsumers != nil && pol.Authentication == nil {
			v.errorf(p+".allow_consumers", "needs authentication in the same policy: without it no request has a consumer")
		}
		for j, name := range pol.AllowConsumers {
			if v.refs && !v.consumerNames[name] {
				v.errorf(index(p+".allow_consumers", j), "unknown consumer %q; %s", name, setNames(v.consumerNames))
			}
		}
		if r := pol.RateLimit; r != nil {
			v.rateLimit(p+".rate_limit", r)
		}
	}
	v.policyNames = names
}

func (v *validator) authentication(p string, a *Authentication) {
	if a.APIKey == nil && a.JWT == nil && !v.childFailed(p) {
		v.errorf(p, "at least one of api_key, jwt is required")
	}
	if k := a.APIKey; k != nil {
		if k.Header != "" && !tokenRE.MatchString(k.Header) {
			v.errorf(p+".api_key.header", "%q is not a header name token", k.Header)
		}
		if strings.EqualFold(k.Header, "authorization") && a.JWT != nil {
			v.errorf(p+".api_key.header", "Authorization carries the JWT in this policy; use another header for the key")
		}
		if k.Query != "" && (strings.ContainsAny(k.Query, "&=#?% ") || !validAPIKey(k.Query)) {
			v.errorf(p+".api_key.query", "%q is not a plain query parameter name", k.Query)
		}
		if k.Header == "" && k.Query == "" && !v.childFailed(p+".api_key") {
			v.errorf(p+".api_key", "at least one of header, query is required")
		}
	}
	if j := a.JWT; j != nil {
		v.jwt(p+".jwt", j)
	}
}

func (v *validator) jwt(p string, j *JWTAuth) {
	if j.Issuer == "" {
		v.errorf(p+".issuer", "required: the iss claim tokens must carry")
	}
	v.oneOf(p, []string{"jwks_file", "jwks_url"}, j.JWKSFile != "", j.JWKSURL != "")
	if j.JWKSURL != "" {
		if u, err := url.Parse(j.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.errorf(p+".jwks_url", "%q is not an http(s) URL", j.JWKSURL)
		}
	}
	if j.JWKSFile != "" && v.mode != Stored {
		if _, err := os.Stat(j.JWKSFile); err != nil {
			v.errorf(p+".jwks_file", "%v", err)
		}
	}
	if j.JWKSRefresh < Duration(time.Second) && j.JWKSURL != "" {
		v.errorf(p+".jwks_refresh", "must be at least 1s")
	}
	v.notEmpty(p+".algorithms", j.Algorithms != nil && len(j.Algorithms) == 0, "leave it out for the asymmetric algorithms")
	for i, alg := range j.Algorithms {
		v.enum(index(p+".algorithms", i), alg, jwtAlgorithms...)
	}
	if j.Leeway < 0 || j.Leeway > Duration(5*time.Minute) {
		v.errorf(p+".leeway", "must be between 0s and 5m")
	}
	if j.IdentityClaim == "" {
		v.errorf(p+".identity_claim", "required: the claim naming the caller, like sub")
	}
}

func (v *validator) rateLimit(p string, r *RateLimit) {
	v.rate(p, r.Requests, r.Per, r.Burst)
	v.enum(p+".by", r.By, RateLimitByClientIP, RateLimitByConsumer, RateLimitByHeader)
	switch {
	case r.By == RateLimitByHeader && r.Header == "":
		v.errorf(p+".header", "required with by: header: the header whose values are counted apart")
	case r.By != RateLimitByHeader && r.Header != "":
		v.errorf(p+".header", "only with by: header")
	case r.Header != "" && !tokenRE.MatchString(r.Header):
		v.errorf(p+".header", "%q is not a header name token", r.Header)
	}
	if r.Redis != "" {
		if err := checkHostPort(r.Redis); err != nil {
			v.errorf(p+".redis", "%v", err)
		}
	}
	v.enum(p+".on_error", r.OnError, RateLimitAllow, RateLimitDeny)
}

// rate checks the requests, per and burst of a limit.
func (v *validator) rate(p string, requests int, per Duration, burst int) {
	v.intRange(p+".requests", requests, 1, 1_000_000_000)
	if per < Duration(time.Millisecond) {
		v.errorf(p+".per", "required: a period of at least 1ms, like 1s or 1m")
	}
	if requests >= 1 { // a burst left out is the requests, already refused
		v.intRange(p+".burst", burst, 1, 1_000_000_000)
	}
}

// routePolicies checks the policies a route lists: they exist, appear
// once, at most one authenticates, and one that needs a consumer comes
// after the one that authenticates.
func (v *validator) routePolicies(p string, r *Route) {
	v.notEmpty(p+".policies", r.Policies != nil && len(r.Policies) == 0, "leave it out")
	seen := map[string]bool{}
	authBy := ""
	for j, name := range r.Policies {
		jp := index(p+".policies", j)
		if seen[name] {
			v.errorf(jp, "policy %q is listed twice", name)
			continue
		}
		seen[name] = true
		if !v.refs {
			continue
		}
		pol := v.policy(name)
		if pol == nil {
			v.errorf(jp, "unknown policy %q; %s", name, setNames(v.policyNames))
			continue
		}
		if pol.Authentication != nil {
			if authBy != "" {
				v.errorf(jp, "policy %q authenticates, and so does %q before it; a route has one way to authenticate", name, authBy)
			}
			authBy = name
		}
		if rl := pol.RateLimit; rl != nil && rl.By == RateLimitByConsumer && authBy == "" {
			v.errorf(jp, "policy %q limits by consumer, but no policy before it on this route (or in it) authenticates", name)
		}
	}
}

// policy returns the policy named name, or nil.
func (v *validator) policy(name string) *Policy {
	for i := range v.c.Policies {
		if v.c.Policies[i].Name == name {
			return &v.c.Policies[i]
		}
	}
	return nil
}
