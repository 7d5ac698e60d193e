package enroll

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// AgentOptions configures an Agent.
type AgentOptions struct {
	// Addrs are the control plane replicas, host:port. Required.
	Addrs []string
	// JoinToken is "<id>.<secret>.<pin>" as printed by
	// "pylon ctl token create". Required.
	JoinToken string
	// Logger receives enrollment and renewal records; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RenewFraction is the part of a certificate's lifetime after which it
	// is renewed, with ±10% jitter; zero means 0.5.
	RenewFraction float64
}

// Agent obtains and renews a workload's certificate from the control
// plane. Its methods are safe for concurrent use; the certificate and the
// trust bundle are swapped atomically, so connections being set up keep
// the values they read.
type Agent struct {
	addrs    []string
	join     joinToken
	log      *slog.Logger
	now      func() time.Time
	fraction float64
	retry    backoff

	next  atomic.Uint32               // round-robin position in addrs
	cur   atomic.Pointer[svid]        // nil until enrolled
	roots atomic.Pointer[trustBundle] // nil until enrolled
}

// svid is an issued certificate with its key and identity.
type svid struct {
	cert *tls.Certificate // Leaf is set
	id   spiffeid.ID
	// received is when the agent got it, by its own clock. Renewal is
	// timed from here, not from NotBefore, which the CA backdates to
	// allow for clock skew: on a short-lived certificate the backdating
	// would make it look due at once.
	received time.Time
}

// trustBundle is the set of roots peers are verified against.
type trustBundle struct {
	certs []*x509.Certificate
	pool  *x509.CertPool
}

// errNotEnrolled is returned for the certificate before Enroll succeeded.
var errNotEnrolled = errors.New("workload certificate: not enrolled yet")

// NewAgent checks opts and returns an Agent that has no certificate yet:
// call Enroll, or Run, which enrolls first.
func NewAgent(opts AgentOptions) (*Agent, error) {
	if len(opts.Addrs) == 0 || slices.Contains(opts.Addrs, "") {
		return nil, errors.New("new enrollment agent: want at least one control plane address host:port, and no empty one")
	}
	join, err := parseJoinToken(strings.TrimSpace(opts.JoinToken))
	if err != nil {
		return nil, fmt.Errorf("new enrollment agent: %w", err)
	}
	a := &Agent{
		addrs:    slices.Clone(opts.Addrs),
		join:     join,
		log:      opts.Logger,
		now:      opts.Now,
		fraction: opts.RenewFraction,
		retry:    defaultBackoff,
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.fraction == 0 {
		a.fraction = 0.5
	}
	if !(a.fraction > 0 && a.fraction < 1) {
		return nil, fmt.Errorf("new enrollment agent: renew fraction %v, want between 0 and 1", opts.RenewFraction)
	}
	return a, nil
}

// ID returns the workload's SPIFFE ID, or the zero ID before enrollment.
func (a *Agent) ID() spiffeid.ID {
	if s := a.cur.Load(); s != nil {
		return s.id
	}
	return spiffeid.ID{}
}

// Certificate returns the current certificate chain and key. Callers must
// not modify it.
func (a *Agent) Certificate() (*tls.Certificate, error) {
	if s := a.cur.Load(); s != nil {
		return s.cert, nil
	}
	return nil, errNotEnrolled
}

// NotAfter returns when the current certificate expires, or the zero time
// before enrollment.
func (a *Agent) NotAfter() time.Time {
	if s := a.cur.Load(); s != nil {
		return s.cert.Leaf.NotAfter
	}
	return time.Time{}
}

// Roots returns the trust bundle peers are verified against.
func (a *Agent) Roots() []*x509.Certificate {
	if b := a.roots.Load(); b != nil {
		return slices.Clone(b.certs)
	}
	return nil
}

// SetRoots replaces the trust bundle, for example with one pushed with
// config during a CA rotation. New connections use it; an empty bundle is
// ignored and logged, since it would refuse every peer.
func (a *Agent) SetRoots(roots []*x509.Certificate) {
	if len(roots) == 0 {
		a.log.Warn("ignored an empty trust bundle")
		return
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	a.roots.Store(&trustBundle{certs: slices.Clone(roots), pool: pool})
}

// nextAddr returns the next control plane address, round-robin.
func (a *Agent) nextAddr() string {
	n := a.next.Add(1) - 1
	return a.addrs[int(n%uint32(len(a.addrs)))]
}
