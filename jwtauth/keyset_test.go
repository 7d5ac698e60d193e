package jwtauth

import (
	"context"
	"fmt"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func TestParseKeySetSkipsKeysItCannotUse(t *testing.T) {
	k := keysOnce()
	good := string(jwksJSON(t, jwk("rsa", "RS256", k.rsa)))
	// Splice in keys go-jose cannot parse or that are not for signing.
	doc := strings.Replace(good, `{"keys":[`, `{"keys":[{"kty":"X25519-future","kid":"x"},{"kty":"oct","use":"enc","k":"c2VjcmV0","kid":"e"},`, 1)
	ks, err := parseKeySet([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var ids []string
	for _, key := range ks.keys {
		ids = append(ids, key.id)
	}
	if diff := cmp.Diff([]string{"rsa"}, ids); diff != "" {
		t.Errorf("got key ids %v, want [rsa] (-want +got):\n%s", ids, diff)
	}
}

func TestPrivateJWKSVerifiesWithPublicPart(t *testing.T) {
	k := keysOnce()
	priv := jwksJSON(t, jose.JSONWebKey{Key: k.rsa, KeyID: "rsa"}, jose.JSONWebKey{Key: k.ec, KeyID: "ec"}, jose.JSONWebKey{Key: k.ed, KeyID: "ed"})
	ks, err := parseKeySet(priv)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var types []string
	for _, key := range ks.keys {
		types = append(types, fmt.Sprintf("%T", key.pub))
	}
	want := []string{"*rsa.PublicKey", "*ecdsa.PublicKey", "ed25519.PublicKey"}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("got key types %v, want %v (-want +got):\n%s", types, want, diff)
	}
}

func TestKeysWithoutKidMatchAnyKid(t *testing.T) {
	k := keysOnce()
	cfg := Config{Issuer: testIssuer, JWKSFile: writeFile(t, jwksJSON(t, jwk("", "", k.rsa)))}
	v, err := newVerifier(cfg, newClock().Now)
	if err != nil {
		t.Fatalf("new verifier: %v", err)
	}
	tests := []struct {
		name  string
		token string
		want  outcome
	}{
		{"token kid, key without kid", sign(t, jose.RS256, k.rsa, "some-kid", claims()), outcome{ID: "alice"}},
		{"no kid on either side", sign(t, jose.RS256, k.rsa, "", claims()), outcome{ID: "alice"}},
		{"other signer", sign(t, jose.RS256, k.other, "some-kid", claims()), outcome{Reason: BadSignature}},
		{"no key fits the alg", sign(t, jose.ES256, k.ec, "some-kid", claims()), outcome{Reason: UnknownKey}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), tc.token)
			if diff := cmp.Diff(tc.want, result(t, id, err)); diff != "" {
				t.Errorf("got %v, want %+v (-want +got):\n%s", err, tc.want, diff)
			}
		})
	}
}
