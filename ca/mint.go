package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// authorityPair is a freshly minted root and the intermediate it signed,
// with the intermediate's key. The root's key is dropped once it signed.
type authorityPair struct {
	root     *x509.Certificate
	inter    *x509.Certificate
	interKey crypto.Signer
}

// generation is the pair as a generation issuing from the start.
func (p authorityPair) generation() generation {
	return generation{root: p.root, inter: p.inter, interKey: p.interKey}
}

// mint creates a new root and intermediate for td.
func mint(td spiffeid.TrustDomain, o Options) (authorityPair, error) {
	now := o.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return authorityPair{}, fmt.Errorf("generate root key: %w", err)
	}
	rootTmpl, err := caTemplate(td, "root", now.Add(-o.Skew), now.Add(o.RootTTL))
	if err != nil {
		return authorityPair{}, err
	}
	root, err := create(rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return authorityPair{}, fmt.Errorf("create root: %w", err)
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return authorityPair{}, fmt.Errorf("generate intermediate key: %w", err)
	}
	interTmpl, err := caTemplate(td, "intermediate", now.Add(-o.Skew), earliest(now.Add(o.IntermediateTTL), root.NotAfter))
	if err != nil {
		return authorityPair{}, err
	}
	interTmpl.MaxPathLenZero = true
	// A leaf's identity must stay in the trust domain even if the
	// intermediate's key leaks.
	interTmpl.PermittedURIDomains = []string{td.Name()}
	inter, err := create(interTmpl, root, interKey.Public(), rootKey)
	if err != nil {
		return authorityPair{}, fmt.Errorf("create intermediate: %w", err)
	}
	return authorityPair{root: root, inter: inter, interKey: interKey}, nil
}

// caTemplate is the template of a CA certificate of td.
func caTemplate(td spiffeid.TrustDomain, role string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"pylon"}, CommonName: "pylon " + role + " CA " + td.Name()},
		URIs:                  []*url.URL{td.ID().URL()},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil
}

// create signs tmpl with the parent's key and parses the result.
func create(tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// newSerial returns a random 128-bit serial number.
func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return serial, nil
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
