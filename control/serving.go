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
// life and whenever the CA's current root changes.
type servingCert struct {
	ca    *ca.Authority
	id    spiffeid.ID
	dns   []string
	ips   []net.IP
	cur   atomic.Pointer[tls.Certificate]
	root  atomic.Pointer[x509.Certificate]
	every time.Duration
}

func newServingCert(a *ca.Authority, o Options) (*servingCert, error) {
	id, err := spiffeid.FromPath(a.TrustDomain(), "/control")
	if err != nil {
		return nil, fmt.Errorf("control plane identity: %w", err)
	}
	s := &servingCert{ca: a, id: id, dns: []string{"localhost"}, ips: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, every: time.Minute}
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
	s.cur.Store(&c)
	s.root.Store(s.ca.Roots()[0])
	return nil
}

func (s *servingCert) get() (*tls.Certificate, error) { return s.cur.Load(), nil }

// renew checks every minute whether the certificate is past half its life
// or the CA's current root changed, and issues a new one.
func (s *servingCert) renew(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := s.cur.Load()
		leaf := c.Leaf
		if leaf == nil && len(c.Certificate) > 0 {
			leaf, _ = x509.ParseCertificate(c.Certificate[0])
		}
		half := leaf != nil && time.Now().After(leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore)/2))
		if !half && s.ca.Roots()[0].Equal(s.root.Load()) {
			continue
		}
		if err := s.issue(); err != nil {
			log.Error("renew serving certificate", "err", err.Error())
		}
	}
}
