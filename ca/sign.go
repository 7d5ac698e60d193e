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
	"fmt"
	"net/url"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// ErrIdentityMismatch is returned (wrapped) by Sign when the CSR names an
// identity other than the one the caller authorised.
var ErrIdentityMismatch = errors.New("the csr names another identity")

// minRSABits is the smallest RSA key Sign accepts.
const minRSABits = 2048

// Sign issues a leaf certificate for id to the key in the CSR (DER) and
// returns the chain to send the workload: the leaf, then the intermediate
// (DER), the active one (see Rotate). The caller has already authorised id (by join token or current
// certificate). The CSR's signature must be valid; if it carries URI SANs
// they must be exactly [id], else the error wraps ErrIdentityMismatch. Only
// the CSR's public key is used: the leaf's only name is id, with no subject.
// The leaf is valid from now-Skew to now+LeafTTL, never beyond the
// intermediate.
func (a *Authority) Sign(csrDER []byte, id spiffeid.ID) ([][]byte, error) {
	s := a.view()
	if err := a.checkID(id); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("sign %s: parse csr: %w", id, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("sign %s: csr signature: %w", id, err)
	}
	if err := checkURIs(csr.URIs, id); err != nil {
		return nil, fmt.Errorf("sign %s: %w", id, err)
	}
	g := s.issuer()
	tmpl, err := a.leafTemplate(g, id, csr.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", id, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, g.inter, csr.PublicKey, g.interKey)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", id, err)
	}
	return [][]byte{der, g.inter.Raw}, nil
}

// checkID checks id can be issued: in the trust domain, naming a workload.
func (a *Authority) checkID(id spiffeid.ID) error {
	if !id.MemberOf(a.td) {
		return fmt.Errorf("identity %q is not in trust domain %q", id, a.td)
	}
	if id.Path() == "" {
		return fmt.Errorf("identity %q names the trust domain, not a workload", id)
	}
	return nil
}

// checkURIs checks that a CSR asking for URI SANs asks for exactly id.
func checkURIs(uris []*url.URL, id spiffeid.ID) error {
	if len(uris) == 0 {
		return nil
	}
	if len(uris) != 1 || uris[0].String() != id.String() {
		return fmt.Errorf("csr asks for %v, authorised %s: %w", uris, id, ErrIdentityMismatch)
	}
	return nil
}

// leafTemplate is the template of a leaf for id with public key pub,
// issued now by g's intermediate.
func (a *Authority) leafTemplate(g generation, id spiffeid.ID, pub crypto.PublicKey) (*x509.Certificate, error) {
	usage, err := keyUsage(pub)
	if err != nil {
		return nil, err
	}
	now := a.opts.Now()
	if !now.Before(g.inter.NotAfter) {
		return nil, fmt.Errorf("the intermediate CA expired at %s; rotate the CA", g.inter.NotAfter.Format(time.RFC3339))
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		URIs:                  []*url.URL{id.URL()},
		NotBefore:             now.Add(-a.opts.Skew),
		NotAfter:              earliest(now.Add(a.opts.LeafTTL), g.inter.NotAfter),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}, nil
}

// keyUsage is the key usage of a leaf for pub, which must be a key type and
// size worth certifying.
func keyUsage(pub crypto.PublicKey) (x509.KeyUsage, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return 0, fmt.Errorf("csr key: ecdsa curve %s not accepted (use P-256 or P-384)", k.Curve.Params().Name)
		}
		return x509.KeyUsageDigitalSignature, nil
	case ed25519.PublicKey:
		return x509.KeyUsageDigitalSignature, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return 0, fmt.Errorf("csr key: rsa key of %d bits not accepted (at least %d)", k.N.BitLen(), minRSABits)
		}
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, nil
	default:
		return 0, fmt.Errorf("csr key: %T not accepted", pub)
	}
}
