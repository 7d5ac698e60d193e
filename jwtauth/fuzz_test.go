package jwtauth

import (
	"context"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerify feeds arbitrary strings to Verify. It must never panic, and it
// may accept a token only if go-jose verifies that token with one of the test
// keys, the one the token's kid names.
func FuzzVerify(f *testing.F) {
	k := keysOnce()
	v := newFileVerifier(f, Config{Algorithms: []string{"RS256", "ES256", "EdDSA", "HS256"}}, true)
	seeds := []string{
		sign(f, jose.RS256, k.rsa, "rsa", claims()),
		sign(f, jose.ES256, k.ec, "ec", claims()),
		sign(f, jose.EdDSA, k.ed, "ed", claims()),
		sign(f, jose.HS256, k.hmac, "oct", claims()),
		sign(f, jose.ES256, k.ec, "", claims()),
		sign(f, jose.RS256, k.other, "rsa", claims()),
		sign(f, jose.HS256, rsaPublicPEM(f, k.rsa), "rsa", claims()),
		b64(`{"alg":"none"}`) + "." + b64(`{"sub":"x","iss":"`+testIssuer+`","exp":1e10}`) + ".",
		"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	public := map[string]any{"rsa": &k.rsa.PublicKey, "ec": &k.ec.PublicKey, "ed": k.ed.Public(), "oct": k.hmac}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Verify(context.Background(), token)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("got %T %v, want *Error", err, err)
			}
			return
		}
		if id == "" {
			t.Fatalf("got empty identity and no error for %q", token)
		}
		if !signedByTestKey(token, public) {
			t.Fatalf("got identity %q for %q, which no test key signed", id, token)
		}
	})
}

// signedByTestKey is the oracle of FuzzVerify: go-jose itself, with the one
// key the token's kid names, or any key when there is no kid.
func signedByTestKey(token string, public map[string]any) bool {
	sig, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA, jose.HS256})
	if err != nil || strings.Count(token, ".") != 2 {
		return false
	}
	if kid := sig.Signatures[0].Header.KeyID; kid != "" {
		_, err := sig.Verify(public[kid])
		return err == nil
	}
	for _, key := range public {
		if _, err := sig.Verify(key); err == nil {
			return true
		}
	}
	return false
}
