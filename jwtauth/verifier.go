package jwtauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// maxTokenSize bounds the tokens Verify parses; real tokens are a few KiB.
const maxTokenSize = 16 << 10

// Verifier checks tokens. It is immutable after New, apart from the cached key
// set of a JWKS URL, and safe for concurrent use.
type Verifier struct {
	issuer     string
	audiences  jwt.Audience
	algs       []jose.SignatureAlgorithm
	leeway     time.Duration
	identity   string
	noIdentity string // the NoIdentity message, built once
	now        func() time.Time

	static *keySet // set from JWKSFile; nil with JWKSURL
	remote *remote // set from JWKSURL; nil with JWKSFile

	cache tokenCache // tokens that passed
}

// New builds a verifier. With JWKSFile it reads and parses the file now (the
// error names the file). With JWKSURL it starts one background fetch at once,
// so the first request rarely waits, and returns without waiting for it.
func New(cfg Config) (*Verifier, error) {
	return newVerifier(cfg, time.Now)
}

// newVerifier is New with a clock, which tests replace.
func newVerifier(cfg Config, now func() time.Time) (*Verifier, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("configure jwt verifier: %w", err)
	}
	algs, _ := algorithms(cfg.Algorithms) // checked above
	v := &Verifier{
		issuer:    cfg.Issuer,
		audiences: jwt.Audience(slices.Clone(cfg.Audiences)),
		algs:      algs,
		leeway:    cfg.Leeway,
		identity:  cfg.IdentityClaim,
		now:       now,
	}
	if v.identity == "" {
		v.identity = defaultIdentity
	}
	v.noIdentity = "token has no non-empty string claim " + v.identity
	if cfg.JWKSFile != "" {
		ks, err := readKeyFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("configure jwt verifier: %w", err)
		}
		v.static = ks
		return v, nil
	}
	v.remote = newRemote(cfg, now)
	v.remote.start()
	return v, nil
}

func newRemote(cfg Config, now func() time.Time) *remote {
	r := &remote{url: cfg.JWKSURL, client: cfg.Client, refresh: cfg.Refresh, now: now}
	if r.client == nil {
		r.client = &http.Client{Timeout: defaultClientTimeout}
	}
	if r.refresh == 0 {
		r.refresh = defaultRefresh
	}
	return r
}

// Verify checks a compact JWS token and returns the identity claim's value.
// Every error is an *Error. It waits on the network only when a JWKS URL has
// never been fetched, or for the one refetch an unknown kid may trigger, and
// then no longer than ctx allows.
//
// A token that passed is remembered (see tokenCache): the same token again,
// before its exp, within a minute and under the same key set, passes
// without its signature being checked again.
func (v *Verifier) Verify(ctx context.Context, token string) (identity string, err error) {
	if len(token) > maxTokenSize {
		return "", fail(Malformed, "token is larger than 16 KiB", nil)
	}
	sum := sha256.Sum256([]byte(token))
	now := v.now()
	if v.heldKeySet() != nil {
		// A set in hand: keySet does not wait, and starts the refresh of
		// a stale one, even when the token is remembered.
		if ks, e := v.keySet(ctx); e == nil {
			if id, ok := v.cache.get(&sum, ks, now); ok {
				return id, nil
			}
		}
	}
	identity, expiry, ks, e := v.check(ctx, token)
	if e != nil {
		return "", e
	}
	v.cache.put(&sum, verified{identity: identity, expires: expiry.Add(v.leeway), until: now.Add(cacheTTL), keys: ks}, now)
	return identity, nil
}

// check verifies a token in full: its form, its signature and its claims.
// It returns the identity, the expiry and the key set that verified it.
func (v *Verifier) check(ctx context.Context, token string) (string, time.Time, *keySet, *Error) {
	sig, e := v.parse(token)
	if e != nil {
		return "", time.Time{}, nil, e
	}
	ks, e := v.keySet(ctx)
	if e != nil {
		return "", time.Time{}, nil, e
	}
	payload, ks, e := v.verifySignature(ctx, sig, ks)
	if e != nil {
		return "", time.Time{}, nil, e
	}
	identity, expiry, e := v.checkClaims(payload)
	if e != nil {
		return "", time.Time{}, nil, e
	}
	return identity, expiry, ks, nil
}

func (v *Verifier) parse(token string) (*jose.JSONWebSignature, *Error) {
	sig, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, fail(BadAlgorithm, "token algorithm is not allowed", err)
		}
		return nil, fail(Malformed, "token is not a compact JWS", err)
	}
	return sig, nil
}

// verifySignature finds the keys of ks for the token's kid and alg,
// refetching a URL set once when none match, and returns the verified
// payload and the key set that verified it.
func (v *Verifier) verifySignature(ctx context.Context, sig *jose.JSONWebSignature, ks *keySet) ([]byte, *keySet, *Error) {
	h := sig.Signatures[0].Header
	alg := jose.SignatureAlgorithm(h.Algorithm)
	payload, found, err := ks.verify(sig, h.KeyID, alg)
	if !found && v.remote != nil {
		if ks = v.remote.refetch(ctx); ks != nil {
			payload, found, err = ks.verify(sig, h.KeyID, alg)
		}
	}
	switch {
	case !found:
		return nil, nil, fail(UnknownKey, "no key in the key set matches the token", nil)
	case errors.Is(err, jose.ErrCryptoFailure):
		return nil, nil, fail(BadSignature, "token signature is invalid", err)
	case err != nil:
		return nil, nil, fail(Malformed, "token header is not supported", err)
	}
	return payload, ks, nil
}

// heldKeySet is the key set in hand, without waiting for or starting a
// fetch; nil when a URL set was never fetched.
func (v *Verifier) heldKeySet() *keySet {
	if v.remote == nil {
		return v.static
	}
	return v.remote.set.Load()
}

func (v *Verifier) keySet(ctx context.Context) (*keySet, *Error) {
	if v.remote == nil {
		return v.static, nil
	}
	return v.remote.current(ctx)
}
