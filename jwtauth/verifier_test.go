package jwtauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func claimsJSON(t *testing.T, c map[string]any) string {
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("marshal claims: %v", err)
	}
	return string(b)
}

// tamper replaces a signed token's payload, keeping header and signature.
func tamper(t *testing.T, token string, c map[string]any) string {
	parts := strings.Split(token, ".")
	parts[1] = b64(claimsJSON(t, c))
	return strings.Join(parts, ".")
}

// signRaw signs an arbitrary payload, for payloads jwt.Signed refuses.
func signRaw(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, payload string) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}
	jws, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return tok
}

func newFileVerifier(t testing.TB, cfg Config, withOct bool) *Verifier {
	t.Helper()
	cfg.Issuer = testIssuer
	cfg.JWKSFile = writeFile(t, standardSet(t, withOct))
	clock := newClock()
	v, err := newVerifier(cfg, clock.Now)
	if err != nil {
		t.Fatalf("new verifier: %v", err)
	}
	return v
}

func TestVerify(t *testing.T) {
	k := keysOnce()
	rsAndHS := Config{Algorithms: []string{"RS256", "HS256"}}
	tests := []struct {
		name    string
		cfg     Config
		withOct bool
		token   func(t *testing.T) string
		want    outcome
	}{
		{"rs256", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", claims()) }, outcome{ID: "alice"}},
		{"ps512", Config{}, false, func(t *testing.T) string { return sign(t, jose.PS512, k.rsa, "rsa", claims()) }, outcome{ID: "alice"}},
		{"es256", Config{}, false, func(t *testing.T) string { return sign(t, jose.ES256, k.ec, "ec", claims()) }, outcome{ID: "alice"}},
		{"eddsa", Config{}, false, func(t *testing.T) string { return sign(t, jose.EdDSA, k.ed, "ed", claims()) }, outcome{ID: "alice"}},
		{"hs256 listed", rsAndHS, true, func(t *testing.T) string { return sign(t, jose.HS256, k.hmac, "oct", claims()) }, outcome{ID: "alice"}},
		{"no kid tries every fitting key", Config{}, false, func(t *testing.T) string { return sign(t, jose.ES256, k.ec, "", claims()) }, outcome{ID: "alice"}},
		{"one of the audiences", Config{Audiences: []string{"web", "api"}}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", claims()) }, outcome{ID: "alice"}},
		{"single string aud", Config{Audiences: []string{"api"}}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"aud": "api"}))
		}, outcome{ID: "alice"}},
		{"no aud checked when none configured", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"aud": nil})) }, outcome{ID: "alice"}},
		{"custom identity claim", Config{IdentityClaim: "email"}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"email": "a@example.com"}))
		}, outcome{ID: "a@example.com"}},

		{"expired", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"exp": epoch.Add(-time.Second).Unix()}))
		}, outcome{Reason: Expired}},
		{"nbf in the future", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"nbf": epoch.Add(time.Minute).Unix()}))
		}, outcome{Reason: NotYetValid}},
		{"iat in the future", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"iat": epoch.Add(time.Minute).Unix()}))
		}, outcome{Reason: NotYetValid}},
		{"wrong issuer", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"iss": "https://evil.example"}))
		}, outcome{Reason: WrongIssuer}},
		{"no issuer", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"iss": nil})) }, outcome{Reason: WrongIssuer}},
		{"audience mismatch", Config{Audiences: []string{"web"}}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", claims()) }, outcome{Reason: WrongAudience}},
		{"no aud when one is required", Config{Audiences: []string{"api"}}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"aud": nil})) }, outcome{Reason: WrongAudience}},
		{"no exp", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"exp": nil})) }, outcome{Reason: Malformed}},
		{"exp not a number", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"exp": "tomorrow"}))
		}, outcome{Reason: Malformed}},
		{"aud not strings", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"aud": 7})) }, outcome{Reason: Malformed}},
		{"claims not an object", Config{}, false, func(t *testing.T) string { return signRaw(t, jose.RS256, k.rsa, "rsa", `["alice"]`) }, outcome{Reason: Malformed}},

		{"alg none", Config{}, false, func(t *testing.T) string {
			return b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(claimsJSON(t, claims())) + "."
		}, outcome{Reason: BadAlgorithm}},
		{"alg none with kid and signature", rsAndHS, true, func(t *testing.T) string {
			return b64(`{"alg":"none","kid":"rsa"}`) + "." + b64(claimsJSON(t, claims())) + "." + b64("x")
		}, outcome{Reason: BadAlgorithm}},
		{"hs256 with rsa public key as secret, rs only", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.HS256, rsaPublicPEM(t, k.rsa), "rsa", claims())
		}, outcome{Reason: BadAlgorithm}},
		{"hs256 with rsa public key as secret, hs allowed, rsa kid", rsAndHS, true, func(t *testing.T) string {
			return sign(t, jose.HS256, rsaPublicPEM(t, k.rsa), "rsa", claims())
		}, outcome{Reason: UnknownKey}},
		{"hs256 with rsa public key as secret, hs allowed, no kid", rsAndHS, true, func(t *testing.T) string {
			return sign(t, jose.HS256, rsaPublicPEM(t, k.rsa), "", claims())
		}, outcome{Reason: BadSignature}},
		{"alg not listed", Config{Algorithms: []string{"ES256"}}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", claims()) }, outcome{Reason: BadAlgorithm}},
		{"alg does not fit the kid's key", Config{}, false, func(t *testing.T) string { return sign(t, jose.ES256, k.ec, "rsa", claims()) }, outcome{Reason: UnknownKey}},
		{"tampered payload", Config{}, false, func(t *testing.T) string {
			return tamper(t, sign(t, jose.RS256, k.rsa, "rsa", claims()), with(map[string]any{"sub": "mallory"}))
		}, outcome{Reason: BadSignature}},
		{"tampered es256 payload", Config{}, false, func(t *testing.T) string {
			return tamper(t, sign(t, jose.ES256, k.ec, "ec", claims()), with(map[string]any{"sub": "mallory"}))
		}, outcome{Reason: BadSignature}},
		{"signed by another key under a known kid", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.other, "rsa", claims()) }, outcome{Reason: BadSignature}},
		{"signed by another key without kid", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.other, "", claims()) }, outcome{Reason: BadSignature}},
		{"unknown kid", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "nope", claims()) }, outcome{Reason: UnknownKey}},
		{"unsupported crit header", Config{}, false, func(t *testing.T) string {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.rsa},
				(&jose.SignerOptions{}).WithHeader("kid", "rsa").WithHeader("crit", []string{"exp"}).WithHeader("exp", 1))
			if err != nil {
				t.Fatalf("new signer: %v", err)
			}
			jws, err := s.Sign([]byte(claimsJSON(t, claims())))
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			tok, _ := jws.CompactSerialize()
			return tok
		}, outcome{Reason: Malformed}},

		{"no sub", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"sub": nil})) }, outcome{Reason: NoIdentity}},
		{"empty sub", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"sub": ""})) }, outcome{Reason: NoIdentity}},
		{"sub not a string", Config{}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"sub": 42})) }, outcome{Reason: NoIdentity}},
		{"SUB is not sub", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"sub": nil, "SUB": "admin"}))
		}, outcome{Reason: NoIdentity}},
		{"EXP is not exp", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"exp": nil, "EXP": epoch.Add(time.Hour).Unix()}))
		}, outcome{Reason: Malformed}},
		{"Email is not email", Config{IdentityClaim: "email"}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"Email": "a@example.com"}))
		}, outcome{Reason: NoIdentity}},
		{"duplicate sub", Config{}, false, func(t *testing.T) string {
			c := claimsJSON(t, claims())
			return signRaw(t, jose.RS256, k.rsa, "rsa", strings.TrimSuffix(c, "}")+`,"sub":"admin"}`)
		}, outcome{Reason: Malformed}},
		{"duplicate custom identity claim", Config{IdentityClaim: "email"}, false, func(t *testing.T) string {
			c := claimsJSON(t, with(map[string]any{"email": "a@example.com"}))
			return signRaw(t, jose.RS256, k.rsa, "rsa", strings.TrimSuffix(c, "}")+`,"email":"admin@example.com"}`)
		}, outcome{Reason: Malformed}},
		{"custom claim missing", Config{IdentityClaim: "email"}, false, func(t *testing.T) string { return sign(t, jose.RS256, k.rsa, "rsa", claims()) }, outcome{Reason: NoIdentity}},
		{"custom claim an object", Config{IdentityClaim: "email"}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"email": map[string]any{"a": "b"}}))
		}, outcome{Reason: NoIdentity}},

		{"empty", Config{}, false, func(*testing.T) string { return "" }, outcome{Reason: Malformed}},
		{"one part", Config{}, false, func(*testing.T) string { return "garbage" }, outcome{Reason: Malformed}},
		{"two parts", Config{}, false, func(*testing.T) string { return "a.b" }, outcome{Reason: Malformed}},
		{"four parts", Config{}, false, func(*testing.T) string { return "a.b.c.d" }, outcome{Reason: Malformed}},
		{"bad base64", Config{}, false, func(*testing.T) string { return "!!!.???.***" }, outcome{Reason: Malformed}},
		{"header not json", Config{}, false, func(*testing.T) string { return b64("{alg") + "." + b64("{}") + "." + b64("sig") }, outcome{Reason: Malformed}},
		{"json serialization", Config{}, false, func(*testing.T) string { return `{"payload":"e30","protected":"e30","signature":""}` }, outcome{Reason: Malformed}},
		{"too large", Config{}, false, func(t *testing.T) string {
			return sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"pad": strings.Repeat("x", maxTokenSize)}))
		}, outcome{Reason: Malformed}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newFileVerifier(t, tc.cfg, tc.withOct)
			id, err := v.Verify(context.Background(), tc.token(t))
			if diff := cmp.Diff(tc.want, result(t, id, err)); diff != "" {
				t.Errorf("got %v, want %+v (-want +got):\n%s", err, tc.want, diff)
			}
			if e, ok := err.(*Error); ok && !describable(e.Message) {
				t.Errorf("got message %q, want one a WWW-Authenticate header can carry", e.Message)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	k := keysOnce()
	tests := []struct {
		name   string
		leeway time.Duration
		claim  string
		at     time.Duration // claim time relative to now
		want   outcome
	}{
		{"exp 20s ago, leeway 30s", 30 * time.Second, "exp", -20 * time.Second, outcome{ID: "alice"}},
		{"exp 20s ago, leeway 10s", 10 * time.Second, "exp", -20 * time.Second, outcome{Reason: Expired}},
		{"exp 20s ago, no leeway", 0, "exp", -20 * time.Second, outcome{Reason: Expired}},
		{"nbf in 20s, leeway 30s", 30 * time.Second, "nbf", 20 * time.Second, outcome{ID: "alice"}},
		{"nbf in 20s, leeway 10s", 10 * time.Second, "nbf", 20 * time.Second, outcome{Reason: NotYetValid}},
		{"iat in 20s, leeway 30s", 30 * time.Second, "iat", 20 * time.Second, outcome{ID: "alice"}},
		{"iat in 20s, leeway 10s", 10 * time.Second, "iat", 20 * time.Second, outcome{Reason: NotYetValid}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newFileVerifier(t, Config{Leeway: tc.leeway}, false)
			tok := sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{tc.claim: epoch.Add(tc.at).Unix()}))
			id, err := v.Verify(context.Background(), tok)
			if diff := cmp.Diff(tc.want, result(t, id, err)); diff != "" {
				t.Errorf("got %v, want %+v (-want +got):\n%s", err, tc.want, diff)
			}
		})
	}
}

func TestErrorMessageIsSafe(t *testing.T) {
	k := keysOnce()
	v := newFileVerifier(t, Config{}, false)
	secret := "s3cr3t-subject-value"
	tok := sign(t, jose.RS256, k.rsa, "rsa", with(map[string]any{"sub": secret, "exp": epoch.Add(-time.Hour).Unix()}))
	_, err := v.Verify(context.Background(), tok)
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	if diff := cmp.Diff(Expired, e.Reason); diff != "" {
		t.Errorf("got reason %q, want %q", e.Reason, Expired)
	}
	if strings.Contains(e.Message, secret) || strings.Contains(e.Error(), secret) {
		t.Errorf("got %q, want no claim value in it", e.Error())
	}
	if got, want := e.Error(), "verify jwt: expired: token has expired: "+e.Err.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if e.Unwrap() == nil {
		t.Errorf("got nil cause, want the go-jose error")
	}
}
