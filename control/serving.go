package control

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/ca"
)

// servingCert is the control plane's own certificate for its gRPC
// listener, SPIFFE ID spiffe://<trust domain>/control, renewed at half its
// life and whenever the root it must chain to (the one the CA's Pin names)
// changes: during a rotation that is the old root until it retires, so
// data planes that missed the new trust bundle can still reach us.
type servingCert struct {
	ca   *ca.Authority
	id   spiffeid.ID
	dns  []string
	ips  []net.IP
	cur  atomic.Pointer[tls.Certificate]
	root atomic.Pointer[x509.Certificate] // where cur's chain ends
	due  atomic.Int64                     // unix nanoseconds when cur is due for renewal
}

func newServingCert(a *ca.Authority, o Options) (*servingCert, error) {
	id, err := spiffeid.FromPath(a.TrustDomain(), "/control")
	if err != nil {
		return nil, fmt.Errorf("control plane identity: %w", err)
	}
	s := &servingCert{ca: a, id: id, dns: []string{"localhost"}, ips: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}}
	hosts := o.Hosts
	if h, _, err := net.SplitHostPort(o.ControlAddr); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			s.ips = append(s.ips, ip)
		} else {
			s.dns = append(s.dns, h)
		}
	}
	return s, s.issue()
}

func (s *servingCert) issue() error {
	c, err := s.ca.ServingCertificate(s.id, s.dns, s.ips)
	if err != nil {
		return fmt.Errorf("issue the control plane's serving certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return fmt.Errorf("parse the control plane's serving certificate: %w", err)
	}
	root, err := x509.ParseCertificate(c.Certificate[len(c.Certificate)-1])
	if err != nil {
		return fmt.Errorf("parse the control plane's serving root: %w", err)
	}
	now := time.Now()
	s.cur.Store(&c)
	s.root.Store(root)
	s.due.Store(now.Add(leaf.NotAfter.Sub(now) / 2).UnixNano())
	return nil
}

// rootRetires returns when the root cur chains to retires, or the zero
// time if no rotation replaced it.
func (s *servingCert) rootRetires() time.Time {
	for _, r := range s.ca.Status() {
		if r.Cert.Equal(s.root.Load()) {
			return r.RetiresAt
		}
	}
	return time.Time{}
}

// stale reports whether cur is due for renewal at now: past half its life,
// or chaining to a root other than the one the CA pins now.
func (s *servingCert) stale(now time.Time) bool {
	return now.UnixNano() >= s.due.Load() || !ca.VerifyPin(s.root.Load(), s.ca.Pin())
}

func (s *servingCert) get() (*tls.Certificate, error) { return s.cur.Load(), nil }

// renew issues a new certificate at half the current one's life (timed
// from issuance, as the CA backdates NotBefore) and when the root it
// chains to retires, checking at least every 10 seconds (another replica
// may have rotated the CA).
func (s *servingCert) renew(ctx context.Context, log *slog.Logger) {
	for {
		wait := min(time.Until(time.Unix(0, s.due.Load())), 10*time.Second)
		if r := s.rootRetires(); !r.IsZero() {
			wait = min(wait, time.Until(r))
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !s.stale(time.Now()) {
			continue
		}
		if err := s.issue(); err != nil {
			log.Error("renew serving certificate", "err", err.Error())
			sleep(ctx, time.Second)
			continue
		}
		log.Debug("renewed the serving certificate", "root_pin", s.ca.Pin(), "not_after", s.cur.Load().Leaf.NotAfter)
	}
}
