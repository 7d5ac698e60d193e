package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/jwtauth"
	"github.com/pylon-mesh/pylon/ratelimit"
)

// Env is what compiled policies share with each other and across reloads:
// where rate limit counts live, and where problems no client sees go.
type Env struct {
	// Local keeps the counts of limits without a Redis address.
	Local ratelimit.Limiter
	// Redis returns the limiter for a Redis host:port.
	Redis func(addr string) ratelimit.Limiter
	// StoreFailed is told when a limit could not be checked because Redis
	// could not be asked; the policy's on_error decides the request.
	StoreFailed func(policy string, err error)
}

// Set is the compiled policies of one config, by name.
type Set struct {
	byName map[string]*compiled
}

// compiled is one policy.
type compiled struct {
	name  string
	auth  *authn
	allow map[string]bool // nil: every consumer
	limit *limiter
	// waits is set when a check may wait on the network: a rate limit
	// counted in Redis, or JWT keys fetched from a JWKS URL.
	waits bool
}

// Compile builds every policy of cfg, which must be valid. A JWT policy
// with a JWKS URL starts fetching it at once; a JWKS file is read now.
func Compile(cfg *config.Config, env Env) (*Set, error) {
	keys, err := consumerKeys(cfg.Consumers)
	if err != nil {
		return nil, err
	}
	s := &Set{byName: make(map[string]*compiled, len(cfg.Policies))}
	for i := range cfg.Policies {
		p := &cfg.Policies[i]
		c := &compiled{name: p.Name}
		if p.Authentication != nil {
			if c.auth, err = compileAuthn(p.Authentication, keys); err != nil {
				return nil, fmt.Errorf("policy %s: %w", p.Name, err)
			}
		}
		if p.AllowConsumers != nil {
			c.allow = make(map[string]bool, len(p.AllowConsumers))
			for _, n := range p.AllowConsumers {
				c.allow[n] = true
			}
		}
		if p.RateLimit != nil {
			c.limit = compileLimit(p.Name, p.RateLimit, cfg.Consumers, env)
		}
		a := p.Authentication
		c.waits = a != nil && a.JWT != nil && a.JWT.JWKSURL != "" || p.RateLimit != nil && p.RateLimit.Redis != ""
		s.byName[p.Name] = c
	}
	return s, nil
}

// Chain returns the chain of the named policies, in order; nil when names
// is empty. Every name must be one of the set's.
func (s *Set) Chain(names []string) *Chain {
	if len(names) == 0 {
		return nil
	}
	c := &Chain{steps: make([]*compiled, len(names))}
	for i, n := range names {
		c.steps[i] = s.byName[n]
	}
	return c
}

// consumerKeys maps the SHA-256 of every API key to its consumer.
func consumerKeys(consumers []config.Consumer) (map[[sha256.Size]byte]string, error) {
	keys := map[[sha256.Size]byte]string{}
	for _, u := range consumers {
		for _, k := range u.APIKeys {
			if !strings.HasPrefix(k, config.APIKeyHashPrefix) {
				k = config.HashAPIKey(k)
			}
			var sum [sha256.Size]byte
			if n, err := hex.Decode(sum[:], []byte(k[len(config.APIKeyHashPrefix):])); err != nil || n != sha256.Size {
				return nil, fmt.Errorf("consumer %s: an API key is not in sha256 form", u.Name)
			}
			keys[sum] = u.Name
		}
	}
	return keys, nil
}

func compileAuthn(a *config.Authentication, keys map[[sha256.Size]byte]string) (*authn, error) {
	au := &authn{forward: a.ForwardCredentials}
	if k := a.APIKey; k != nil {
		au.keyHeader = strings.ToLower(k.Header)
		au.keyQuery = k.Query
		au.keys = keys
		au.challenges = append(au.challenges, `ApiKey realm="pylon"`)
	}
	if j := a.JWT; j != nil {
		v, err := jwtauth.New(jwtauth.Config{
			Issuer:        j.Issuer,
			Audiences:     j.Audiences,
			JWKSFile:      j.JWKSFile,
			JWKSURL:       j.JWKSURL,
			Algorithms:    j.Algorithms,
			Leeway:        time.Duration(j.Leeway),
			IdentityClaim: j.IdentityClaim,
			Refresh:       time.Duration(j.JWKSRefresh),
		})
		if err != nil {
			return nil, err
		}
		au.jwt = v
		au.challenges = append(au.challenges, `Bearer realm="pylon"`)
	}
	return au, nil
}

func compileLimit(policy string, r *config.RateLimit, consumers []config.Consumer, env Env) *limiter {
	l := &limiter{
		policy: policy,
		limit:  ratelimit.Limit{Rate: r.Requests, Period: time.Duration(r.Per), Burst: r.Burst},
		by:     r.By,
		header: strings.ToLower(r.Header),
		deny:   r.OnError == config.RateLimitDeny,
		failed: env.StoreFailed,
		store:  env.Local,
		prefix: policy + "|",
	}
	if r.Redis != "" {
		l.store, l.remote = env.Redis(r.Redis), true
	}
	if r.By == config.RateLimitByConsumer {
		for _, u := range consumers {
			if c := u.RateLimit; c != nil {
				if l.perConsumer == nil {
					l.perConsumer = map[string]ratelimit.Limit{}
				}
				l.perConsumer[u.Name] = ratelimit.Limit{Rate: c.Requests, Period: time.Duration(c.Per), Burst: c.Burst}
			}
		}
	}
	return l
}
