package enroll

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testCA is a small root -> intermediate -> leaf CA implementing Signer.
type testCA struct {
	td       spiffeid.TrustDomain
	root     *x509.Certificate
	inter    *x509.Certificate
	interKey *ecdsa.PrivateKey
	leafTTL  time.Duration
	now      func() time.Time
}

func newTestCA(t testing.TB, td string, now func() time.Time) *testCA {
	t.Helper()
	rootKey := newKey(t)
	start := now().Add(-time.Hour)
	root := createCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: td + " root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: start, NotAfter: start.Add(24 * time.Hour),
	}, nil, rootKey, &rootKey.PublicKey)
	interKey := newKey(t)
	inter := createCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: td + " intermediate"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: start, NotAfter: start.Add(24 * time.Hour),
	}, root, rootKey, &interKey.PublicKey)
	return &testCA{
		td: spiffeid.RequireTrustDomainFromString(td), root: root, inter: inter, interKey: interKey,
		leafTTL: time.Hour, now: now,
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func createCert(t testing.TB, tmpl, parent *x509.Certificate, signer *ecdsa.PrivateKey, pub any) *x509.Certificate {
	t.Helper()
	c, err := createCertErr(tmpl, parent, signer, pub)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createCertErr(tmpl, parent *x509.Certificate, signer *ecdsa.PrivateKey, pub any) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// leaf issues an SVID for id valid from notBefore to notAfter.
func (c *testCA) leaf(id spiffeid.ID, pub any, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	return createCertErr(&x509.Certificate{
		URIs: []*url.URL{id.URL()}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}, c.inter, c.interKey, pub)
}

var errIdentityMismatch = errors.New("csr asks for another identity")

func (c *testCA) Sign(csrDER []byte, id spiffeid.ID) ([][]byte, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, err
	}
	if len(csr.URIs) > 0 && (len(csr.URIs) != 1 || csr.URIs[0].String() != id.String()) {
		return nil, errIdentityMismatch
	}
	now := c.now()
	l, err := c.leaf(id, csr.PublicKey, now.Add(-time.Second), now.Add(c.leafTTL))
	if err != nil {
		return nil, err
	}
	return [][]byte{l.Raw, c.inter.Raw}, nil
}

func (c *testCA) Roots() []*x509.Certificate { return []*x509.Certificate{c.root} }

func (c *testCA) TrustDomain() spiffeid.TrustDomain { return c.td }

func (c *testCA) Verify(chain []*x509.Certificate) (spiffeid.ID, error) {
	id, _, err := x509svid.Verify(chain, x509bundle.FromX509Authorities(c.td, c.Roots()), x509svid.WithTime(c.now()))
	return id, err
}

// cert returns a TLS certificate for path in the CA's trust domain, valid
// from notBefore to notAfter, with the root appended if withRoot.
func (c *testCA) cert(t testing.TB, path string, notBefore, notAfter time.Time, withRoot bool) *tls.Certificate {
	t.Helper()
	key := newKey(t)
	l, err := c.leaf(spiffeid.RequireFromPath(c.td, path), &key.PublicKey, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{l.Raw, c.inter.Raw}
	if withRoot {
		chain = append(chain, c.root.Raw)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: l}
}

// servingCert is a control plane certificate valid around now.
func (c *testCA) servingCert(t testing.TB, path string) *tls.Certificate {
	now := c.now()
	return c.cert(t, path, now.Add(-time.Hour), now.Add(12*time.Hour), true)
}

// pin is the join token pin of the CA's root.
func (c *testCA) pin() string {
	sum := sha256.Sum256(c.root.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
