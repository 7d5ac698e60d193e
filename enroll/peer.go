package enroll

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// PeerID returns the SPIFFE ID of the gRPC peer in ctx, from the
// certificate chain it presented on the TLS connection, as verified by v.
// It fails when the connection is not TLS, the peer presented no
// certificate, or v refuses the chain.
func PeerID(ctx context.Context, v interface {
	Verify([]*x509.Certificate) (spiffeid.ID, error)
}) (spiffeid.ID, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return spiffeid.ID{}, errors.New("peer identity: no gRPC peer in context")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return spiffeid.ID{}, errors.New("peer identity: connection is not TLS")
	}
	chain := info.State.PeerCertificates
	if len(chain) == 0 {
		return spiffeid.ID{}, errors.New("peer identity: peer presented no certificate")
	}
	id, err := v.Verify(chain)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("peer identity: verify certificate: %w", err)
	}
	return id, nil
}

// ServerTLS returns the TLS configuration of the control plane's gRPC
// listener. cert is called on every handshake, so the serving certificate
// can rotate; its chain must end in the root (leaf, intermediate, root) so
// a workload holding only a join token's pin can verify it. Client
// certificates are requested but not verified here: PeerID verifies them
// against the current trust bundle, so a CA rotation needs no listener
// restart, and a workload without a certificate can still enroll with a
// join token.
func ServerTLS(cert func() (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequestClientCert,
		NextProtos: []string{"h2"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cert()
		},
	}
}
