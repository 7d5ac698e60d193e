package enroll

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// errPinMismatch means the control plane's root is not the one the join
// token pins: the wrong token, or not our control plane. It is not retried.
var errPinMismatch = errors.New("the control plane's root certificate does not match the join token's pin")

// controlPath is the SPIFFE ID path of every control plane replica.
const controlPath = "/control"

// verifySVID verifies chain (leaf first) against roots at now and returns
// the leaf's SPIFFE ID.
func verifySVID(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) (spiffeid.ID, error) {
	if len(chain) == 0 {
		return spiffeid.ID{}, errors.New("no certificate")
	}
	leaf := chain[0]
	id, err := x509svid.IDFromCert(leaf)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("read SPIFFE ID: %w", err)
	}
	if leaf.IsCA {
		return spiffeid.ID{}, fmt.Errorf("%s: leaf certificate is a CA", id)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("verify %s: %w", id, err)
	}
	return id, nil
}

// verifyPinned authenticates a control plane on first contact: its chain
// must end in the root whose SHA-256 is pin, the rest must verify up to
// that root, and the leaf must be a control plane ID. It returns the trust
// domain the root serves.
func verifyPinned(chain []*x509.Certificate, pin [sha256.Size]byte, now time.Time) (spiffeid.TrustDomain, error) {
	if len(chain) < 2 {
		return spiffeid.TrustDomain{}, fmt.Errorf("control plane sent %d certificates, want its chain up to the root", len(chain))
	}
	root := chain[len(chain)-1]
	if sha256.Sum256(root.Raw) != pin {
		return spiffeid.TrustDomain{}, errPinMismatch
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	id, err := verifySVID(chain[:len(chain)-1], roots, now)
	if err != nil {
		return spiffeid.TrustDomain{}, fmt.Errorf("control plane certificate: %w", err)
	}
	if id.Path() != controlPath {
		return spiffeid.TrustDomain{}, fmt.Errorf("control plane certificate is for %s, want path %s", id, controlPath)
	}
	return id.TrustDomain(), nil
}

// parseCerts parses DER certificates; what names the list in errors.
func parseCerts(ders [][]byte, what string) ([]*x509.Certificate, error) {
	if len(ders) == 0 {
		return nil, fmt.Errorf("no %s certificates", what)
	}
	out := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("parse %s certificate %d: %w", what, i, err)
		}
		out[i] = c
	}
	return out, nil
}
