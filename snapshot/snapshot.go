// Package snapshot is what the control plane pushes to data planes: to a
// gateway its config and the trust bundle, encoded once on the control
// plane and checked on the gateway by the same config code a gateway's
// file goes through; to a sidecar its service's inbound settings and the
// services its app calls, with the identity each endpoint must present.
package snapshot

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/pylon-mesh/pylon/config"
)

// Gateway is the payload of a gateway's snapshot.
type Gateway struct {
	// Config is a config document (JSON) in config.Managed form: the
	// listeners, routes, services, policies and consumers the gateway
	// serves, with registered instances merged into the services'
	// endpoints.
	Config json.RawMessage `json:"config"`
	// Peers maps the endpoints that are mesh instances to the SPIFFE ID
	// their sidecars present: the gateway reaches them over mutual TLS.
	Peers map[string]string `json:"peers,omitempty"`
	// Roots is the trust bundle, PEM, current root first.
	Roots []string `json:"roots"`
}

// Encode builds a gateway payload.
func Encode(cfg *config.Config, peers map[string]string, roots []*x509.Certificate) ([]byte, error) {
	doc, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode gateway config: %w", err)
	}
	return json.Marshal(Gateway{Config: doc, Peers: peers, Roots: pemCerts(roots)})
}

func pemCerts(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	return out
}

// parseRoots decodes a PEM trust bundle; an empty one is an error.
func parseRoots(name string, pems []string) ([]*x509.Certificate, error) {
	if len(pems) == 0 {
		return nil, errors.New("snapshot " + name + " holds no trust bundle")
	}
	roots := make([]*x509.Certificate, 0, len(pems))
	for i, p := range pems {
		block, _ := pem.Decode([]byte(p))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("snapshot %s: roots[%d] is not a PEM certificate", name, i)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: roots[%d]: %w", name, i, err)
		}
		roots = append(roots, c)
	}
	return roots, nil
}

// Decode parses a gateway payload: its config, checked in config.Managed
// mode (the gateway adds its local settings and checks again), and its
// trust bundle, which is returned even when the config is refused. The
// services whose endpoints are mesh instances come back marked Mesh, with
// only those endpoints, and peers maps each to the identity it presents.
func Decode(name string, payload []byte) (*config.Config, map[string]string, []*x509.Certificate, error) {
	var g Gateway
	if err := json.Unmarshal(payload, &g); err != nil {
		return nil, nil, nil, fmt.Errorf("decode snapshot %s: %w", name, err)
	}
	roots, err := parseRoots(name, g.Roots)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := config.ParseMode(name, g.Config, config.Managed)
	if err != nil {
		return nil, nil, roots, err // the bundle is good even when the config is not
	}
	for i := range cfg.Services {
		markMesh(&cfg.Services[i], g.Peers)
	}
	return cfg, g.Peers, roots, nil
}

// markMesh makes a service whose endpoints include mesh instances a mesh
// service of only those: a sidecar takes nothing but mutual TLS.
func markMesh(s *config.Service, peers map[string]string) {
	var mesh []config.Endpoint
	for _, e := range s.Endpoints {
		if _, ok := peers[e.Address]; ok {
			mesh = append(mesh, e)
		}
	}
	if len(mesh) == 0 {
		return
	}
	s.Endpoints, s.Mesh, s.TLS, s.Health.Active = mesh, true, nil, nil
}
