package ca

import (
	"crypto"
	"crypto/x509"
	"time"
)

// snapshot is one immutable version of the CA: what a revision of
// "ca/state" says, with the roots retired by a given time left out.
type snapshot struct {
	rev      int64         // ModRevision of "ca/state"
	roots    []trustedRoot // current first, none retired
	pool     *x509.CertPool
	inter    *x509.Certificate
	interKey crypto.Signer
	// pruneAt is when the next root retires (zero: none will); the
	// snapshot is stale from then on.
	pruneAt time.Time
}

// newSnapshot returns the snapshot of a state at time now.
func newSnapshot(rev int64, roots []trustedRoot, inter *x509.Certificate, key crypto.Signer, now time.Time) *snapshot {
	s := &snapshot{rev: rev, pool: x509.NewCertPool(), inter: inter, interKey: key}
	for _, r := range roots {
		if !r.retire.IsZero() && !now.Before(r.retire) {
			continue
		}
		s.roots = append(s.roots, r)
		s.pool.AddCert(r.cert)
		if !r.retire.IsZero() && (s.pruneAt.IsZero() || r.retire.Before(s.pruneAt)) {
			s.pruneAt = r.retire
		}
	}
	return s
}

// stale reports whether a root has retired since the snapshot was made.
func (s *snapshot) stale(now time.Time) bool {
	return !s.pruneAt.IsZero() && !now.Before(s.pruneAt)
}

// root is the current root.
func (s *snapshot) root() *x509.Certificate {
	return s.roots[0].cert
}
