package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// leafFacts is what a test checks of an issued leaf.
type leafFacts struct {
	URIs        []string
	NotBefore   time.Time
	NotAfter    time.Time
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
	IsCA        bool
	Issuer      string
}

func factsOf(c *x509.Certificate) leafFacts {
	f := leafFacts{NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyUsage: c.KeyUsage,
		ExtKeyUsage: c.ExtKeyUsage, IsCA: c.IsCA, Issuer: c.Issuer.CommonName}
	for _, u := range c.URIs {
		f.URIs = append(f.URIs, u.String())
	}
	return f
}

func TestSign(t *testing.T) {
	clock := newFakeClock()
	a := openCA(t, newStore(t), Options{KeyFile: keyFile(t), Now: clock.Now})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	ecdsaFacts := leafFacts{
		URIs:        []string{web.String()},
		NotBefore:   now.Add(-5 * time.Minute),
		NotAfter:    now.Add(12 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		Issuer:      "pylon intermediate CA pylon.local",
	}
	rsaFacts := ecdsaFacts
	rsaFacts.KeyUsage |= x509.KeyUsageKeyEncipherment
	tests := []struct {
		name string
		key  crypto.Signer
		uris []spiffeid.ID
		want leafFacts
	}{
		{"ecdsa csr naming the identity", newKey(t), []spiffeid.ID{web}, ecdsaFacts},
		{"ecdsa csr naming nothing", newKey(t), nil, ecdsaFacts},
		{"rsa", rsaKey, nil, rsaFacts},
		{"ed25519", edKey, []spiffeid.ID{web}, ecdsaFacts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := a.Sign(newCSR(t, tc.key, tc.uris...), web)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			chain := parseChain(t, der)
			if diff := cmp.Diff(2, len(chain)); diff != "" {
				t.Fatalf("chain length (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, factsOf(chain[0])); diff != "" {
				t.Errorf("leaf (-want +got):\n%s", diff)
			}
			if !chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.key.Public()) {
				t.Errorf("leaf key is not the CSR's key")
			}
			id, err := a.Verify(chain)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(web.String(), id.String()); diff != "" {
				t.Errorf("Verify identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	a := openCA(t, newStore(t), Options{KeyFile: keyFile(t)})
	key := newKey(t)
	badSig := newCSR(t, key, web)
	badSig[len(badSig)-1] ^= 0xff
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		csr      []byte
		id       spiffeid.ID
		mismatch bool
		wantErr  string
	}{
		{"csr names another identity", newCSR(t, key, other), web, true, "names another identity"},
		{"csr names two identities", newCSR(t, key, web, other), web, true, "names another identity"},
		{"bad csr signature", badSig, web, false, "csr signature"},
		{"not a csr", []byte("hello"), web, false, "parse csr"},
		{"foreign trust domain", newCSR(t, key), spiffeid.RequireFromString("spiffe://evil.example/ns/a/svc/b"), false, "not in trust domain"},
		{"trust domain itself", newCSR(t, key), spiffeid.RequireFromString("spiffe://pylon.local"), false, "names the trust domain"},
		{"weak rsa key", newCSR(t, weakRSA), web, false, "rsa key of 1024 bits"},
		{"p-224 key", newCSR(t, p224), web, false, "P-224 not accepted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Sign(tc.csr, tc.id)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Sign: got error %v, want one containing %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.mismatch, errors.Is(err, ErrIdentityMismatch)); diff != "" {
				t.Errorf("errors.Is(err, ErrIdentityMismatch) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSignClipsToIntermediate(t *testing.T) {
	clock := newFakeClock()
	a := openCA(t, newStore(t), Options{KeyFile: keyFile(t), Now: clock.Now, IntermediateTTL: 20 * time.Hour})
	tests := []struct {
		name    string
		advance time.Duration
		want    time.Time
		wantErr string
	}{
		{"fits", time.Hour, clock.Now().Add(13 * time.Hour), ""},
		{"clipped", 10 * time.Hour, clock.Now().Add(20 * time.Hour), ""},
		{"intermediate expired", 10 * time.Hour, time.Time{}, "intermediate CA expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			der, err := a.Sign(newCSR(t, newKey(t)), web)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Sign: got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if diff := cmp.Diff(tc.want, parseChain(t, der)[0].NotAfter); diff != "" {
				t.Errorf("NotAfter (-want +got):\n%s", diff)
			}
		})
	}
}
