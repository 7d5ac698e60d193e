package jwtauth

import (
	"context"
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
func (v *Verifier) Verify(ctx context.Context, token string) (identity string, err error) {
	sig, e := v.parse(token)
	if e != nil {
		return "", e
	}
	payload, e := v.verifySignature(ctx, sig)
	if e != nil {
		return "", e
	}
	identity, e = v.checkClaims(payload)
	if e != nil {
		return "", e
	}
	return identity, nil
}

func (v *Verifier) parse(token string) (*jose.JSONWebSignature, *Error) {
	if len(token) > maxTokenSize {
		return nil, fail(Malformed, "token is larger than 16 KiB", nil)
	}
	sig, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, fail(BadAlgorithm, "token algorithm is not allowed", err)
		}
		return nil, fail(Malformed, "token is not a compact JWS", err)
	}
	return sig, nil
}

// verifySignature finds the keys for the token's kid and alg, refetching a URL
// set once when none match, and returns the verified payload.
func (v *Verifier) verifySignature(ctx context.Context, sig *jose.JSONWebSignature) ([]byte, *Error) {
	h := sig.Signatures[0].Header
	alg := jose.SignatureAlgorithm(h.Algorithm)
	ks, e := v.keySet(ctx)
	if e != nil {
		return nil, e
	}
	payload, found, err := ks.verify(sig, h.KeyID, alg)
	if !found && v.remote != nil {
		if ks = v.remote.refetch(ctx); ks != nil {
			payload, found, err = ks.verify(sig, h.KeyID, alg)
		}
	}
	switch {
	case !found:
		return nil, fail(UnknownKey, "no key in the key set matches the token", nil)
	case errors.Is(err, jose.ErrCryptoFailure):
		return nil, fail(BadSignature, "token signature is invalid", err)
	case err != nil:
		return nil, fail(Malformed, "token header is not supported", err)
	}
	return payload, nil
}

func (v *Verifier) keySet(ctx context.Context) (*keySet, *Error) {
	if v.remote == nil {
		return v.static, nil
	}
	return v.remote.current(ctx)
}
