// Package meshtls is the mutual TLS of the mesh: the server config of a
// sidecar's inbound listener, which takes only peers whose certificate
// chains to the trust bundle, and the client transport between sidecars
// (Pool), which pools HTTP/2 connections per destination, checks that each
// destination presents the SPIFFE ID expected at its address, and hands a
// connection over to a new one before the certificate its destination
// presented expires. Both read the workload's certificate and the trust
// bundle on every handshake, so renewals and CA rotations apply without
// restarting anything.
package meshtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// Identity is the workload's certificate and trust bundle (an
// *enroll.Agent).
type Identity interface {
	Certificate() (*tls.Certificate, error)
	Roots() []*x509.Certificate
	ID() spiffeid.ID
}

// Stats counts handshakes that failed, for the mesh's metrics.
type Stats struct {
	// InboundFailures counts peers refused by the inbound listener.
	InboundFailures atomic.Uint64
	// OutboundFailures counts destinations that failed verification or
	// the handshake.
	OutboundFailures atomic.Uint64
}

// verify checks a presented chain (leaf first) against the trust bundle
// and returns its SPIFFE ID.
func verify(id Identity, raw [][]byte) (spiffeid.ID, error) {
	if len(raw) == 0 {
		return spiffeid.ID{}, errors.New("no certificate presented")
	}
	chain := make([]*x509.Certificate, 0, len(raw))
	for _, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return spiffeid.ID{}, fmt.Errorf("parse peer certificate: %w", err)
		}
		chain = append(chain, c)
	}
	td := id.ID().TrustDomain()
	bundle := x509bundle.FromX509Authorities(td, id.Roots())
	peer, _, err := x509svid.Verify(chain, bundle)
	if err != nil {
		return spiffeid.ID{}, err
	}
	return peer, nil
}

// ServerConfig is the TLS of a sidecar's inbound listener: the workload's
// certificate, and a client certificate required and verified against the
// trust bundle. With permissive set, a client without a certificate is let
// through the handshake (the listener then treats it as a caller outside
// the mesh); a certificate that does not verify is refused either way.
func ServerConfig(id Identity, permissive bool, stats *Stats, log *slog.Logger) *tls.Config {
	auth := tls.RequireAnyClientCert
	if permissive {
		auth = tls.RequestClientCert
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"h2", "http/1.1"},
		ClientAuth: auth,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			c, err := id.Certificate()
			if err == nil && c.Leaf != nil && time.Now().After(c.Leaf.NotAfter) {
				log.Error("this sidecar's certificate expired: callers refuse it until it is renewed", "not_after", c.Leaf.NotAfter)
			}
			return c, err
		},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 && permissive {
				return nil
			}
			if _, err := verify(id, raw); err != nil {
				stats.InboundFailures.Add(1)
				return fmt.Errorf("mesh: refused a caller: %w", err)
			}
			return nil
		},
	}
}

// PeerID is the SPIFFE ID of a verified client chain (Access.Peer).
func PeerID(chain []*x509.Certificate) (spiffeid.ID, bool) {
	if len(chain) == 0 {
		return spiffeid.ID{}, false
	}
	id, err := x509svid.IDFromCert(chain[0])
	return id, err == nil
}

// Peers says which SPIFFE ID the sidecar at an address must present.
type Peers func(addr string) (spiffeid.ID, bool)

// Workload splits a workload identity, spiffe://<td>/ns/<namespace>/svc/<service>,
// into its namespace and service; ok is false for any other identity. It
// does not allocate: the per-request metrics and authorization call it.
func Workload(id spiffeid.ID) (ns, svc string, ok bool) {
	rest, ok := strings.CutPrefix(id.Path(), "/ns/")
	if !ok {
		return "", "", false
	}
	ns, rest, ok = strings.Cut(rest, "/")
	svc, ok2 := strings.CutPrefix(rest, "svc/")
	if !ok || !ok2 || ns == "" || svc == "" || strings.Contains(svc, "/") {
		return "", "", false
	}
	return ns, svc, true
}

// WorkloadID is the identity of a workload of service svc in namespace ns.
func WorkloadID(td, ns, svc string) string {
	return "spiffe://" + td + "/ns/" + ns + "/svc/" + svc
}
