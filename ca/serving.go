package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// ServingCertificate issues the control plane's own certificate for id, with
// the DNS names and IP addresses clients dial, to a fresh ECDSA P-256 key.
// The chain is leaf, intermediate, root: the root is included so a client
// that holds only the pin can check the chain ends in the pinned root.
//
// It is issued from the oldest trusted root (the one Pin names), not the
// active one Sign uses: during a rotation's overlap a data plane that
// missed the new trust bundle, or enrolls with a join token made before the
// rotation, can still authenticate the control plane and so receive the
// new bundle. Reissue it when Pin changes (Status tells when it will).
func (a *Authority) ServingCertificate(id spiffeid.ID, dnsNames []string, ips []net.IP) (tls.Certificate, error) {
	g := a.view().server()
	if err := a.checkID(id); err != nil {
		return tls.Certificate{}, fmt.Errorf("serving certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving certificate: generate key: %w", err)
	}
	tmpl, err := a.leafTemplate(g, id, key.Public())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving certificate: %w", err)
	}
	tmpl.DNSNames = dnsNames
	tmpl.IPAddresses = ips
	leaf, err := create(tmpl, g.inter, key.Public(), g.interKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving certificate: %w", err)
	}
	return tls.Certificate{
		Certificate: [][]byte{leaf.Raw, g.inter.Raw, g.root.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}
