package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/store"
	"github.com/pylon-mesh/pylon/store/bolt"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

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

// newStore returns a fresh bbolt store, closed when the test ends.
func newStore(t testing.TB) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func opPut(key, value string) store.Op {
	return store.Op{Key: key, Value: []byte(value), IfRevision: store.Any}
}

// keyFile returns a path for a key file in a fresh directory.
func keyFile(t testing.TB) string {
	return filepath.Join(t.TempDir(), "ca.key")
}

// openCA opens an Authority on st, failing the test on error.
func openCA(t testing.TB, st store.Store, opts Options) *Authority {
	t.Helper()
	a, err := Open(context.Background(), st, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return a
}

var (
	web   = spiffeid.RequireFromString("spiffe://pylon.local/ns/default/svc/web")
	other = spiffeid.RequireFromString("spiffe://pylon.local/ns/default/svc/other")
)

// newKey returns a fresh P-256 key.
func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCSR returns a CSR (DER) for key asking for the URI SANs ids.
func newCSR(t testing.TB, key crypto.Signer, ids ...spiffeid.ID) []byte {
	t.Helper()
	var uris []*url.URL
	for _, id := range ids {
		uris = append(uris, id.URL())
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: uris}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// issue signs a CSR for id with a fresh key and returns the parsed chain.
func issue(t *testing.T, a *Authority, id spiffeid.ID) []*x509.Certificate {
	t.Helper()
	chain, err := a.Sign(newCSR(t, newKey(t), id), id)
	if err != nil {
		t.Fatalf("Sign(%s): %v", id, err)
	}
	return parseChain(t, chain)
}

func parseChain(t testing.TB, chain [][]byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// verifyErr returns Verify's error as a string, "" for success.
func verifyErr(a *Authority, chain []*x509.Certificate) string {
	if _, err := a.Verify(chain); err != nil {
		return err.Error()
	}
	return ""
}
