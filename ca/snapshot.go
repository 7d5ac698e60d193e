package ca

import (
	"crypto/x509"
	"time"
)

// snapshot is one immutable version of the CA: what a revision of
// "ca/state" says at a given time, with the retired roots left out.
type snapshot struct {
	rev  int64        // ModRevision of "ca/state"
	gens []generation // newest first, none retired
	pool *x509.CertPool
	// active is the index in gens of the generation Sign uses; serving
	// the one ServingCertificate uses, the oldest that can issue.
	active, serving int
	// changeAt is when the next generation activates or retires (zero:
	// none will); the snapshot is stale from then on.
	changeAt time.Time
}

// newSnapshot returns the snapshot of a state at time now.
func newSnapshot(rev int64, gens []generation, now time.Time) *snapshot {
	s := &snapshot{rev: rev, pool: x509.NewCertPool(), active: -1}
	for _, g := range gens {
		if g.retiredAt(now) {
			continue
		}
		s.gens = append(s.gens, g)
		s.pool.AddCert(g.root)
		s.changeAt = earliestSet(s.changeAt, g.retire)
		if g.activate.After(now) {
			s.changeAt = earliestSet(s.changeAt, g.activate)
		}
	}
	for i, g := range s.gens {
		if g.inter == nil {
			continue
		}
		if s.active < 0 && !g.activate.After(now) {
			s.active = i
		}
		s.serving = i
	}
	if s.active < 0 {
		// Only a clock set back before the last activation gets here: the
		// oldest issuer was the active one before it.
		s.active = s.serving
	}
	return s
}

// earliestSet returns the earlier of a and b, ignoring a zero one.
func earliestSet(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// stale reports whether a generation activated or retired since the
// snapshot was made.
func (s *snapshot) stale(now time.Time) bool {
	return !s.changeAt.IsZero() && !now.Before(s.changeAt)
}

// issuer is the generation Sign uses.
func (s *snapshot) issuer() generation { return s.gens[s.active] }

// server is the generation ServingCertificate uses: the oldest trusted one
// that can issue, so a data plane that missed a rotation's new trust bundle,
// or holds only a join token pinning the old root, can still reach the
// control plane until the old root retires.
func (s *snapshot) server() generation { return s.gens[s.serving] }
