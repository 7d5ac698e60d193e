package ca

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// Verify checks a chain a workload presented (leaf first, then
// intermediates) and returns the leaf's SPIFFE ID. The leaf must chain to a
// trusted root at Options.Now, allow client authentication (or any use), not
// be a CA, and name exactly one identity in the trust domain.
func (a *Authority) Verify(chain []*x509.Certificate) (spiffeid.ID, error) {
	if len(chain) == 0 {
		return spiffeid.ID{}, errors.New("verify: empty certificate chain")
	}
	leaf := chain[0]
	id, err := x509svid.IDFromCert(leaf)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("verify: leaf identity: %w", err)
	}
	if leaf.IsCA {
		return spiffeid.ID{}, fmt.Errorf("verify %s: the leaf is a CA certificate", id)
	}
	if !id.MemberOf(a.td) {
		return spiffeid.ID{}, fmt.Errorf("verify %s: not in trust domain %q", id, a.td)
	}
	s := a.view()
	if _, err := leaf.Verify(verifyOptions(s, chain[1:], a.opts.Now())); err != nil {
		return spiffeid.ID{}, fmt.Errorf("verify %s: %w", id, err)
	}
	return id, nil
}

// verifyOptions are the options Verify checks a chain with.
func verifyOptions(s *snapshot, intermediates []*x509.Certificate, now time.Time) x509.VerifyOptions {
	pool := x509.NewCertPool()
	for _, c := range intermediates {
		pool.AddCert(c)
	}
	return x509.VerifyOptions{
		Roots:         s.pool,
		Intermediates: pool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}
