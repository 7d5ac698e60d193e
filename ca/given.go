package ca

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Given is a root and an intermediate an operator brings instead of letting
// the CA make its own at first start: typically a root kept offline in the
// organisation's PKI, and an intermediate it signed for Pylon. Only the
// intermediate's key is needed; it is sealed into the store like a minted
// one.
type Given struct {
	Root         *x509.Certificate
	Intermediate *x509.Certificate
	Key          crypto.Signer
}

// LoadGiven reads a given CA from PEM files: the root certificate, the
// intermediate certificate and the intermediate's private key.
func LoadGiven(rootFile, interFile, keyFile string) (*Given, error) {
	root, err := readCert(rootFile)
	if err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(interFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load intermediate %s with key %s: %w", interFile, keyFile, err)
	}
	inter, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parse intermediate %s: %w", interFile, err)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("intermediate key %s cannot sign", keyFile)
	}
	return &Given{Root: root, Intermediate: inter, Key: key}, nil
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read root certificate: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("root certificate %s: no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("root certificate %s: %w", path, err)
	}
	return c, nil
}

// check makes sure g can serve as the CA of td at now: a self-signed CA
// root, an intermediate it signed that may sign certificates, valid now,
// and the key that goes with the intermediate.
func (g *Given) check(td spiffeid.TrustDomain, now time.Time) error {
	r, in := g.Root, g.Intermediate
	switch {
	case !r.IsCA || r.CheckSignatureFrom(r) != nil:
		return errors.New("the given root is not a self-signed CA certificate")
	case !in.IsCA || in.KeyUsage&x509.KeyUsageCertSign == 0:
		return errors.New("the given intermediate is not a CA certificate that may sign certificates")
	case in.CheckSignatureFrom(r) != nil:
		return errors.New("the given intermediate is not signed by the given root")
	case now.Before(in.NotBefore) || now.After(in.NotAfter) || now.After(r.NotAfter):
		return fmt.Errorf("the given intermediate is not valid now (valid %s to %s)", in.NotBefore.Format(time.RFC3339), in.NotAfter.Format(time.RFC3339))
	case len(in.PermittedURIDomains) > 0 && !contains(in.PermittedURIDomains, td.Name()):
		return fmt.Errorf("the given intermediate's name constraints do not permit trust domain %s", td.Name())
	}
	pub, err := x509.MarshalPKIXPublicKey(g.Key.Public())
	if err != nil || !bytes.Equal(pub, in.RawSubjectPublicKeyInfo) {
		return errors.New("the given key is not the intermediate's")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
