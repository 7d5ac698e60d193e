package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const testIssuer = "https://idp.example"

// epoch is the fake "now" of every test.
var epoch = time.Unix(1_800_000_000, 0)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKeys are the signing keys of the tests, generated once per run.
type testKeys struct {
	rsa, rsa2, other *rsa.PrivateKey
	ec               *ecdsa.PrivateKey
	ed               ed25519.PrivateKey
	hmac             []byte
}

var keysOnce = sync.OnceValue(func() *testKeys {
	k := &testKeys{hmac: make([]byte, 32)}
	k.rsa = mustRSA()
	k.rsa2 = mustRSA()
	k.other = mustRSA()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	k.ec = ec
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	rand.Read(k.hmac)
	return k
})

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// jwk is the public JWK of a test key.
func jwk(kid, alg string, key any) jose.JSONWebKey {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		key = &k.PublicKey
	case *ecdsa.PrivateKey:
		key = &k.PublicKey
	case ed25519.PrivateKey:
		key = k.Public()
	}
	return jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"}
}

func jwksJSON(t testing.TB, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatalf("marshal jwks: %v", err)
	}
	return b
}

// standardSet is the JWKS of the standard test keys; only the oct key's
// presence depends on the test.
func standardSet(t testing.TB, withOct bool) []byte {
	k := keysOnce()
	keys := []jose.JSONWebKey{
		jwk("rsa", "", k.rsa),
		jwk("ec", "ES256", k.ec),
		jwk("ed", "", k.ed),
	}
	if withOct {
		keys = append(keys, jwk("oct", "HS256", k.hmac))
	}
	return jwksJSON(t, keys...)
}

func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write jwks: %v", err)
	}
	return path
}

// sign signs claims with key under alg, with kid in the header when not empty.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

// claims are valid claims for the standard test config at epoch.
func claims() map[string]any {
	return map[string]any{
		"iss": testIssuer,
		"sub": "alice",
		"aud": []string{"other", "api"},
		"exp": epoch.Add(time.Hour).Unix(),
		"iat": epoch.Add(-time.Minute).Unix(),
		"nbf": epoch.Add(-time.Minute).Unix(),
	}
}

// with returns claims with changes applied; a nil value deletes the claim.
func with(changes map[string]any) map[string]any {
	c := claims()
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// rsaPublicPEM is the RSA public key as a PEM document: what a key-confusion
// attacker uses as the HMAC secret.
func rsaPublicPEM(t testing.TB, k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// outcome is what a test compares: the identity, or the reason of the error.
type outcome struct {
	ID     string
	Reason Reason
}

func result(t testing.TB, id string, err error) outcome {
	t.Helper()
	if err == nil {
		return outcome{ID: id}
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("got error %T %v, want *Error", err, err)
	}
	if id != "" {
		t.Errorf("got identity %q with error %v, want none", id, err)
	}
	return outcome{Reason: e.Reason}
}
