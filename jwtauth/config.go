package jwtauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Config is what a policy's authentication.jwt section compiles to.
type Config struct {
	// Issuer is required: the token's iss must equal it.
	Issuer string
	// Audiences, if non-empty, must contain one of the token's aud values.
	// Empty: aud is not checked.
	Audiences []string
	// JWKSFile is the path of a JWKS document. Exactly one of JWKSFile and
	// JWKSURL must be set.
	JWKSFile string
	// JWKSURL is the http(s) URL of a JWKS document.
	JWKSURL string
	// Algorithms are the allowed JWS algorithms. Empty: RS256, RS384, RS512,
	// PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA. "none" is never
	// allowed; HS256, HS384 and HS512 only when listed here.
	Algorithms []string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means none.
	Leeway time.Duration
	// IdentityClaim names the claim holding the caller's identity; it must be a
	// non-empty string in the token. Empty: "sub".
	IdentityClaim string
	// Refresh is how old a fetched JWKS may get before it is fetched again.
	// Zero: 5 minutes.
	Refresh time.Duration
	// Client fetches JWKSURL. Nil: a client with a 5 s timeout.
	Client *http.Client
}

const (
	defaultRefresh       = 5 * time.Minute
	defaultClientTimeout = 5 * time.Second
	defaultIdentity      = "sub"
)

// defaultAlgorithms are the asymmetric algorithms allowed when Config.Algorithms
// is empty; HMAC needs a shared secret and is opt-in.
var defaultAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// knownAlgorithms are all the algorithms Config.Algorithms may list.
var knownAlgorithms = append([]jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}, defaultAlgorithms...)

// check reports every problem in c, or nil.
func (c *Config) check() error {
	var errs []error
	if c.Issuer == "" {
		errs = append(errs, errors.New("issuer is required"))
	}
	if (c.JWKSFile == "") == (c.JWKSURL == "") {
		errs = append(errs, errors.New("exactly one of jwks file and jwks url is required"))
	}
	if c.JWKSURL != "" {
		if err := checkURL(c.JWKSURL); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := algorithms(c.Algorithms); err != nil {
		errs = append(errs, err)
	}
	if !describable(c.IdentityClaim) {
		errs = append(errs, fmt.Errorf("identity claim %q has characters an error description cannot carry", c.IdentityClaim))
	}
	if c.Leeway < 0 {
		errs = append(errs, fmt.Errorf("leeway %v is negative", c.Leeway))
	}
	if c.Refresh < 0 {
		errs = append(errs, fmt.Errorf("refresh %v is negative", c.Refresh))
	}
	return errors.Join(errs...)
}

// describable reports whether s may appear in a WWW-Authenticate
// error_description (RFC 6750 section 3): printable ASCII without '"' and '\'.
// Error messages name the identity claim, so its name must be describable.
func describable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse jwks url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("jwks url %q is not an absolute http(s) url", raw)
	}
	return nil
}

// algorithms turns names into go-jose algorithms, refusing unknown names and
// "none".
func algorithms(names []string) ([]jose.SignatureAlgorithm, error) {
	if len(names) == 0 {
		return defaultAlgorithms, nil
	}
	algs := make([]jose.SignatureAlgorithm, 0, len(names))
	for _, n := range names {
		a := jose.SignatureAlgorithm(n)
		if !known(a) {
			return nil, fmt.Errorf("algorithm %q is not supported", n)
		}
		algs = append(algs, a)
	}
	return algs, nil
}

func known(a jose.SignatureAlgorithm) bool {
	for _, k := range knownAlgorithms {
		if a == k {
			return true
		}
	}
	return false
}
