package jwtauth

import (
	"context"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func benchmarkVerify(b *testing.B, alg jose.SignatureAlgorithm, key any, kid string) {
	v := newFileVerifier(b, Config{Audiences: []string{"api"}}, false)
	tok := sign(b, alg, key, kid, claims())
	ctx := context.Background()
	b.Run("checked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := v.check(ctx, tok); err != nil {
				b.Fatalf("check: %v", err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatalf("verify: %v", err)
			}
		}
	})
}

func BenchmarkVerifyRS256(b *testing.B) { benchmarkVerify(b, jose.RS256, keysOnce().rsa, "rsa") }

func BenchmarkVerifyES256(b *testing.B) { benchmarkVerify(b, jose.ES256, keysOnce().ec, "ec") }

func BenchmarkVerifyEdDSA(b *testing.B) { benchmarkVerify(b, jose.EdDSA, keysOnce().ed, "ed") }

// BenchmarkVerifyRS256URL is RS256 against a cached JWKS URL set: the cost of
// the remote path over a file set is one atomic load and a clock read.
func BenchmarkVerifyRS256URL(b *testing.B) {
	k := keysOnce()
	srv := newJWKSServer(b, standardSet(b, false))
	v, err := newVerifier(Config{Issuer: testIssuer, JWKSURL: srv.URL, Audiences: []string{"api"}}, newClock().Now)
	if err != nil {
		b.Fatalf("new verifier: %v", err)
	}
	tok := sign(b, jose.RS256, k.rsa, "rsa", claims())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := v.check(ctx, tok); err != nil {
			b.Fatalf("check: %v", err)
		}
	}
}
