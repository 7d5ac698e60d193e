package jwtauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// retryInterval is the least time between two fetches that no unknown kid
	// asked for: refreshes of a stale set, and retries while no set was ever
	// fetched. It keeps a failing IdP from being asked on every request.
	retryInterval = time.Second
	// unknownKidInterval is the least time between two refetches for an
	// unknown kid; it protects the IdP from a flood of junk kids.
	unknownKidInterval = 10 * time.Second
	// maxJWKSSize bounds a fetched JWKS document.
	maxJWKSSize = 1 << 20
	// maxFetchTime bounds a fetch even when Config.Client has no timeout, so
	// one stuck fetch cannot stop every later one.
	maxFetchTime = 30 * time.Second
)

// remote is a key set fetched from a JWKS URL. Requests read the cached set
// with one atomic load; at most one fetch runs at a time, in its own goroutine,
// and keeps the old set when it fails.
type remote struct {
	url     string
	client  *http.Client
	refresh time.Duration
	now     func() time.Time

	set       atomic.Pointer[keySet] // nil until a fetch succeeds
	attempted atomic.Int64           // UnixNano start of the last fetch

	mu     sync.Mutex
	done   chan struct{} // closed when the running fetch ends; nil when none runs
	forced time.Time     // start of the last refetch for an unknown kid
	err    error         // why the last fetch failed; nil after a success
}

// start begins a fetch unless one is running and returns its done channel.
func (r *remote) start() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.startLocked()
}

func (r *remote) startLocked() <-chan struct{} {
	if r.done != nil {
		return r.done
	}
	done := make(chan struct{})
	r.done = done
	r.attempted.Store(r.now().UnixNano())
	go r.fetch(done)
	return done
}

// current returns the cached set, starting a background refresh when it is
// stale. Only when no set was ever fetched does it wait, for ctx at most.
func (r *remote) current(ctx context.Context) (*keySet, *Error) {
	ks := r.set.Load()
	if ks == nil {
		return r.first(ctx)
	}
	now := r.now()
	if now.Sub(ks.fetched) >= r.refresh && r.mayRetry(now) {
		r.start()
	}
	return ks, nil
}

func (r *remote) mayRetry(now time.Time) bool {
	return now.Sub(time.Unix(0, r.attempted.Load())) >= retryInterval
}

// first waits for the running fetch, or starts one unless the last attempt
// was too recent, and returns the set it got.
func (r *remote) first(ctx context.Context) (*keySet, *Error) {
	r.mu.Lock()
	var done <-chan struct{} = r.done
	if done == nil && r.mayRetry(r.now()) {
		done = r.startLocked()
	}
	r.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fail(KeysUnavailable, "signing keys are not available yet", ctx.Err())
		}
	}
	if ks := r.set.Load(); ks != nil {
		return ks, nil
	}
	r.mu.Lock()
	err := r.err
	r.mu.Unlock()
	return nil, fail(KeysUnavailable, "signing keys are not available", err)
}

// refetch fetches the set again for a kid it lacks, at most once per
// unknownKidInterval, waits for ctx at most, and returns the set then cached,
// or nil when it did not fetch.
func (r *remote) refetch(ctx context.Context) *keySet {
	r.mu.Lock()
	now := r.now()
	if !r.forced.IsZero() && now.Sub(r.forced) < unknownKidInterval {
		r.mu.Unlock()
		return nil
	}
	r.forced = now
	done := r.startLocked()
	r.mu.Unlock()
	select {
	case <-done:
		return r.set.Load()
	case <-ctx.Done():
		return nil
	}
}

// fetch runs one fetch and publishes its outcome.
func (r *remote) fetch(done chan struct{}) {
	ks, err := r.load()
	r.mu.Lock()
	if err == nil {
		ks.fetched = r.now()
		r.set.Store(ks)
	}
	r.err = err
	r.done = nil
	r.mu.Unlock()
	close(done)
}

func (r *remote) load() (*keySet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), maxFetchTime)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks %s: status %s", r.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch jwks %s: read body: %w", r.url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("fetch jwks %s: response is larger than %d bytes", r.url, maxJWKSSize)
	}
	ks, err := parseKeySet(body)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks %s: %w", r.url, err)
	}
	return ks, nil
}
