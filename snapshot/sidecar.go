package snapshot

import (
	"crypto/x509"
	"encoding/json"
	"fmt"

	"github.com/pylon-mesh/pylon/config"
)

// Sidecar is the payload of a sidecar's snapshot: how its service takes
// inbound traffic, and the services its app calls with their endpoints.
type Sidecar struct {
	// Service and Namespace are the sidecar's own, from its certificate.
	Service   string `json:"service"`
	Namespace string `json:"namespace"`
	// MTLS is how the service's sidecars take inbound traffic: strict
	// (mTLS only) or permissive (plaintext from non-mesh callers too).
	MTLS string `json:"mtls"`
	// TCPIdleTimeout is how long a TCP stream to the service may go with
	// no byte moving (its calls.tcp_idle_timeout); 0 when the service does
	// not say, for config.DefaultTCPIdleTimeout.
	TCPIdleTimeout config.Duration `json:"tcp_idle_timeout,omitempty"`
	// Policies are the authorization policies that select the service.
	Policies []config.AuthorizationPolicy `json:"policies"`
	// Upstreams are the services the sidecar asked for, each whether or
	// not it has endpoints yet.
	Upstreams []Upstream `json:"upstreams"`
	// Roots is the trust bundle, PEM, current root first.
	Roots []string `json:"roots"`
}

// App protocols beside config's HTTP ones.
const (
	// ProtocolTCP is the protocol of an app that does not speak HTTP: its
	// callers' sidecars tunnel every connection to it.
	ProtocolTCP = "tcp"
	// ProtocolAuto is the protocol of an app that declared none: its
	// callers' sidecars tell HTTP from other TCP traffic on the first
	// bytes of each connection.
	ProtocolAuto = "auto"
)

// Upstream is one service a sidecar's app calls.
type Upstream struct {
	// Service holds the settings (balancer, health, breaker, retry
	// budget, pool) and, as endpoints, the inbound addresses of the
	// service's healthy sidecars.
	Service config.Service `json:"service"`
	// Protocol is how the service's app speaks: http1, h2c, grpc,
	// ProtocolTCP or ProtocolAuto.
	Protocol string `json:"protocol"`
	// Peers maps each endpoint address to the SPIFFE ID its sidecar must
	// present.
	Peers map[string]string `json:"peers"`
}

// EncodeSidecar builds a sidecar payload.
func EncodeSidecar(s Sidecar, roots []*x509.Certificate) ([]byte, error) {
	s.Roots = pemCerts(roots)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode sidecar snapshot: %w", err)
	}
	return b, nil
}

// DecodeSidecar parses a sidecar payload and its trust bundle.
func DecodeSidecar(name string, payload []byte) (*Sidecar, []*x509.Certificate, error) {
	var s Sidecar
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, nil, fmt.Errorf("decode snapshot %s: %w", name, err)
	}
	roots, err := parseRoots(name, s.Roots)
	if err != nil {
		return nil, nil, err
	}
	return &s, roots, nil
}
