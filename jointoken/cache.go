package jointoken

import (
	"sync"
	"time"
)

// CacheTTL is how long Check trusts a secret it verified without reading
// the store again: the longest a token revoked on another replica keeps
// passing Check here.
const CacheTTL = time.Second

// maxCached bounds the cache; when it is full, expired entries go, and if
// none had, all do.
const maxCached = 4096

// cache remembers verified secrets by hash. It never holds a secret.
type cache struct {
	mu      sync.Mutex
	entries map[[hashLength]byte]cached
	// gen counts forgets, so a check that read a token before it was
	// revoked does not cache it after.
	gen uint64
}

type cached struct {
	token Token
	until time.Time
}

func newCache() *cache {
	return &cache{entries: map[[hashLength]byte]cached{}}
}

// get returns the token verified for hash h, if that was less than
// CacheTTL before now.
func (c *cache) get(h [hashLength]byte, now time.Time) (Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[h]
	if !ok || !now.Before(e.until) {
		return Token{}, false
	}
	return e.token, true
}

// generation returns the number of forgets so far; pass it to put.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put remembers t as verified for hash h at time now, unless a token was
// forgotten since generation gen was read.
func (c *cache) put(h [hashLength]byte, t Token, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= maxCached {
		c.dropExpiredLocked(now)
	}
	if len(c.entries) >= maxCached {
		clear(c.entries)
	}
	c.entries[h] = cached{token: t, until: now.Add(CacheTTL)}
}

func (c *cache) dropExpiredLocked(now time.Time) {
	for h, e := range c.entries {
		if !now.Before(e.until) {
			delete(c.entries, h)
		}
	}
}

// forget drops the entries of the token with the id.
func (c *cache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.entries {
		if e.token.ID == id {
			delete(c.entries, h)
		}
	}
}
