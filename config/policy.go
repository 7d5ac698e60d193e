package config

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Policy is a named set of checks a gateway applies to the requests of
// the routes that list it: who the caller is (Authentication), which
// callers may pass (AllowConsumers) and how often (RateLimit). The checks
// run in that order after routing; a route's policies run in the order the
// route lists them, and a request must pass every one.
type Policy struct {
	// Name identifies the policy; required, unique, [a-z0-9_-]+.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Authentication requires a credential and finds the caller's identity.
	Authentication *Authentication `yaml:"authentication,omitempty" json:"authentication,omitempty"`
	// AllowConsumers, when set, admits only these consumers (by name).
	// It needs Authentication in the same policy.
	AllowConsumers []string `yaml:"allow_consumers,omitempty" json:"allow_consumers,omitempty"`
	// RateLimit bounds the request rate per client, consumer or header value.
	RateLimit *RateLimit `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
}

// Authentication accepts a request carrying any one of the configured
// credentials, checked in this order: a bearer token (JWT), then an API key.
type Authentication struct {
	// APIKey accepts a key of one of the consumers.
	APIKey *APIKeyAuth `yaml:"api_key,omitempty" json:"api_key,omitempty"`
	// JWT accepts a signed JSON Web Token in Authorization: Bearer.
	JWT *JWTAuth `yaml:"jwt,omitempty" json:"jwt,omitempty"`
	// ForwardCredentials sends the credential on to the upstream. Default
	// false: the key or token is removed once checked.
	ForwardCredentials bool `yaml:"forward_credentials,omitempty" json:"forward_credentials,omitempty"`
}

// APIKeyAuth says where a request carries its API key. At least one of
// Header and Query; default Header X-API-Key.
type APIKeyAuth struct {
	// Header is the request header holding the key.
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	// Query is the query parameter holding the key.
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
}

// JWTAuth checks a JSON Web Token signed by a key of a JWKS (RFC 7517).
type JWTAuth struct {
	// Issuer must equal the token's iss claim; required.
	Issuer string `yaml:"issuer,omitempty" json:"issuer,omitempty"`
	// Audiences, when set, must include one of the token's aud values.
	Audiences []string `yaml:"audiences,omitempty" json:"audiences,omitempty"`
	// JWKSFile is a JWKS document on disk. Exactly one of JWKSFile and JWKSURL.
	JWKSFile string `yaml:"jwks_file,omitempty" json:"jwks_file,omitempty"`
	// JWKSURL is fetched over http(s), cached and fetched again after
	// JWKSRefresh or when a token names a key it does not hold.
	JWKSURL string `yaml:"jwks_url,omitempty" json:"jwks_url,omitempty"`
	// JWKSRefresh is how old a fetched JWKS may get. Default 5m.
	JWKSRefresh Duration `yaml:"jwks_refresh" json:"jwks_refresh"`
	// Algorithms are the accepted signature algorithms. Default the
	// asymmetric ones (RS*, PS*, ES*, EdDSA); HS* only when listed.
	Algorithms []string `yaml:"algorithms,omitempty" json:"algorithms,omitempty"`
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30s.
	Leeway Duration `yaml:"leeway" json:"leeway"`
	// IdentityClaim is the claim naming the caller. Default "sub".
	IdentityClaim string `yaml:"identity_claim,omitempty" json:"identity_claim,omitempty"`
}

// RateLimit allows Requests per Per on average to each key, with bursts
// of up to Burst (the generic cell rate algorithm).
type RateLimit struct {
	// Requests is the average number of requests per Per; 1..1000000000.
	Requests int `yaml:"requests" json:"requests"`
	// Per is the period; required, at least 1ms.
	Per Duration `yaml:"per" json:"per"`
	// Burst is how many requests may come at once. Default Requests.
	Burst int `yaml:"burst" json:"burst"`
	// By is what a limit is counted per: RateLimitByClientIP (default),
	// RateLimitByConsumer or RateLimitByHeader.
	By string `yaml:"by,omitempty" json:"by,omitempty"`
	// Header names the header counted per when By is RateLimitByHeader;
	// requests without it share one count.
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	// Redis is the host:port of a Redis server holding the counts, so every
	// gateway using it shares them. Empty: counts are kept in this process.
	Redis string `yaml:"redis,omitempty" json:"redis,omitempty"`
	// OnError is what happens when Redis cannot be asked: RateLimitAllow
	// (default) lets the request through, RateLimitDeny refuses it with 503.
	OnError string `yaml:"on_error,omitempty" json:"on_error,omitempty"`
}

// The values of RateLimit.By and RateLimit.OnError.
const (
	RateLimitByClientIP = "client_ip"
	RateLimitByConsumer = "consumer"
	RateLimitByHeader   = "header"
	RateLimitAllow      = "allow"
	RateLimitDeny       = "deny"
)

// Consumer is a known caller of the gateway's APIs: a partner, an app, a
// team. Policies authenticate callers as consumers and limit them.
type Consumer struct {
	// Name identifies the consumer; required, unique, [a-z0-9_-]+. A JWT
	// whose identity claim equals it authenticates as this consumer.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// APIKeys are the consumer's keys: each either the key itself (at least
	// MinAPIKeyLength characters) or "sha256:" and the hex SHA-256 of the
	// key. Keys are stored and shown only in the sha256 form.
	APIKeys []string `yaml:"api_keys,omitempty" json:"api_keys,omitempty"`
	// RateLimit, when set, replaces the requests, per and burst of every
	// policy limit counted per consumer, for this consumer (a plan or tier).
	RateLimit *ConsumerLimit `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
}

// ConsumerLimit is a consumer's own rate, replacing a policy's.
type ConsumerLimit struct {
	// Requests is the average number of requests per Per; 1..1000000000.
	Requests int `yaml:"requests" json:"requests"`
	// Per is the period; required, at least 1ms.
	Per Duration `yaml:"per" json:"per"`
	// Burst is how many requests may come at once. Default Requests.
	Burst int `yaml:"burst" json:"burst"`
}

// MinAPIKeyLength is the shortest API key accepted in its plain form.
const MinAPIKeyLength = 16

// APIKeyHashPrefix starts an API key given as its SHA-256.
const APIKeyHashPrefix = "sha256:"

// HashAPIKey returns the stored form of a plain API key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return APIKeyHashPrefix + hex.EncodeToString(sum[:])
}

// isHashedAPIKey reports whether k is "sha256:" and 64 lower-case hex digits.
func isHashedAPIKey(k string) bool {
	h, ok := strings.CutPrefix(k, APIKeyHashPrefix)
	if !ok || len(h) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (p *Policy) setDefaults(c *Config, path string) {
	if a := p.Authentication; a != nil {
		if k := a.APIKey; k != nil && k.Header == "" && k.Query == "" && !c.has(path+".authentication.api_key.header") {
			k.Header = "X-API-Key"
		}
		if j := a.JWT; j != nil {
			jp := path + ".authentication.jwt."
			def(c, &j.JWKSRefresh, jp+"jwks_refresh", sec(300))
			def(c, &j.Leeway, jp+"leeway", sec(30))
			def(c, &j.IdentityClaim, jp+"identity_claim", "sub")
		}
	}
	if r := p.RateLimit; r != nil {
		rp := path + ".rate_limit."
		def(c, &r.Burst, rp+"burst", r.Requests)
		def(c, &r.By, rp+"by", RateLimitByClientIP)
		def(c, &r.OnError, rp+"on_error", RateLimitAllow)
	}
}

// setDefaults hashes plain API keys long enough to keep (shorter ones are
// left for validation to refuse) and fills the burst.
func (u *Consumer) setDefaults(c *Config, path string) {
	for i, k := range u.APIKeys {
		if !strings.HasPrefix(k, APIKeyHashPrefix) && len(k) >= MinAPIKeyLength && validAPIKey(k) {
			u.APIKeys[i] = HashAPIKey(k)
		}
	}
	if r := u.RateLimit; r != nil {
		def(c, &r.Burst, path+".rate_limit.burst", r.Requests)
	}
}

// validAPIKey reports whether a plain key is printable ASCII without
// spaces, so it can travel in a header or a query parameter.
func validAPIKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f {
			return false
		}
	}
	return k != ""
}
