package jwtauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// A client sends the same token with request after request until it
// expires; checking its signature each time costs tens of microseconds of
// CPU. The verifier remembers tokens that passed, by the SHA-256 of the whole
// token, so a hit is the very bytes that were checked.
const (
	// cacheSize bounds the tokens remembered.
	cacheSize = 10000
	// cacheTTL bounds how long a token is remembered, so a key dropped from
	// a JWKS file is noticed within it even if the set itself is unchanged.
	cacheTTL = time.Minute
)

// verified is a token that passed.
type verified struct {
	identity string
	// expires is the token's exp plus the leeway: past it the token no
	// longer passes.
	expires time.Time
	// until is when the entry is forgotten regardless.
	until time.Time
	// keys is the key set that verified the token; once the set is replaced
	// (a JWKS fetched again), the token is checked again.
	keys *keySet
}

// tokenCache maps token digests to verified tokens. Safe for concurrent use.
type tokenCache struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]verified
}

// get returns the identity of a remembered token still valid at now under
// keys.
func (c *tokenCache) get(sum *[sha256.Size]byte, keys *keySet, now time.Time) (string, bool) {
	c.mu.RLock()
	e, ok := c.m[*sum]
	c.mu.RUnlock()
	if !ok || e.keys != keys || !now.Before(e.expires) || !now.Before(e.until) {
		return "", false
	}
	return e.identity, true
}

// put remembers a token. When the cache is full it first drops expired
// entries, then, if none were, an arbitrary eighth of them.
func (c *tokenCache) put(sum *[sha256.Size]byte, e verified, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[sha256.Size]byte]verified)
	}
	if len(c.m) >= cacheSize {
		for k, old := range c.m {
			if !now.Before(old.expires) || !now.Before(old.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < cacheSize-cacheSize/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[*sum] = e
}
