package meshtls

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// handshakeTimeout bounds the TLS handshake of a mesh connection, as the
// dialer's Timeout bounds its TCP connect.
const handshakeTimeout = 5 * time.Second

// dialTLS dials addr and checks that it presents the identity peers
// expects there and speaks h2.
func dialTLS(ctx context.Context, d *net.Dialer, id Identity, peers Peers, network, addr string) (net.Conn, error) {
	want, ok := peers(addr)
	if !ok {
		// A failure to connect, like a refused one: nothing was sent, so
		// any request may be retried on another instance.
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("mesh: no identity is known for %s", addr)}
	}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, clientConfig(id, addr, want))
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		conn.Close()
		return nil, fmt.Errorf("mesh: %s negotiated %q, want h2", addr, p)
	}
	return conn, nil
}

// clientConfig is the TLS of a connection to addr, where want must answer.
func clientConfig(id Identity, addr string, want spiffeid.ID) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"h2"},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return id.Certificate()
		},
		// The server is checked by its SPIFFE ID, not a host name, in
		// VerifyConnection below; Go's name-based verification is off.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			raws := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				raws[i] = c.Raw
			}
			got, err := verify(id, raws)
			if err != nil {
				return fmt.Errorf("mesh: %s: %w", addr, err)
			}
			if got != want {
				return fmt.Errorf("mesh: %s presented %s, want %s", addr, got, want)
			}
			return nil
		},
	}
}
