package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// orgPKI is a root and intermediate made outside Pylon, as an
// organisation's PKI would hand them over.
type orgPKI struct {
	root, inter *x509.Certificate
	rootKey     crypto.Signer
	interKey    crypto.Signer
}

func newOrgPKI(t *testing.T) orgPKI {
	t.Helper()
	now := time.Now()
	mk := func(cn string, parent *x509.Certificate, parentKey, key crypto.Signer) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"Example Corp"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p := orgPKI{rootKey: newKey(t), interKey: newKey(t)}
	p.root = mk("Example Root", nil, p.rootKey, p.rootKey)
	p.inter = mk("Example Pylon Intermediate", p.root, p.rootKey, p.interKey)
	return p
}

// files writes the PKI as PEM files and returns their paths.
func (p orgPKI) files(t *testing.T) (root, inter, key string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(p.interKey)
	if err != nil {
		t.Fatal(err)
	}
	return write("root.pem", "CERTIFICATE", p.root.Raw), write("inter.pem", "CERTIFICATE", p.inter.Raw), write("inter.key", "PRIVATE KEY", keyDER)
}

func TestGivenCA(t *testing.T) {
	pki := newOrgPKI(t)
	given, err := LoadGiven(pki.files(t))
	if err != nil {
		t.Fatal(err)
	}
	st, kf := newStore(t), keyFile(t)
	a := openCA(t, st, Options{KeyFile: kf, Given: given})
	if roots := a.Roots(); len(roots) != 1 || !roots[0].Equal(pki.root) {
		t.Fatalf("the CA does not use the given root")
	}
	chain := issue(t, a, web)
	if !chain[1].Equal(pki.inter) {
		t.Errorf("a leaf is not issued by the given intermediate")
	}
	if id, err := a.Verify(chain); err != nil || id != web {
		t.Errorf("Verify: %v, %v", id, err)
	}
	// The state survives a restart, with or without the files.
	openCA(t, st, Options{KeyFile: kf})
	openCA(t, st, Options{KeyFile: kf, Given: given})
	// Another PKI on a store that already has a CA is refused.
	other, err := LoadGiven(newOrgPKI(t).files(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), st, Options{KeyFile: kf, Given: other}); err == nil || !strings.Contains(err.Error(), "already holds a CA") {
		t.Errorf("got %v, want a refusal of a different given CA", err)
	}
}

func TestGivenCARefused(t *testing.T) {
	pki, stranger := newOrgPKI(t), newOrgPKI(t)
	tests := map[string]*Given{
		"key of another intermediate":  {Root: pki.root, Intermediate: pki.inter, Key: stranger.interKey},
		"intermediate of another root": {Root: pki.root, Intermediate: stranger.inter, Key: stranger.interKey},
		"root that is not self-signed": {Root: pki.inter, Intermediate: pki.inter, Key: pki.interKey},
	}
	for name, g := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Open(context.Background(), newStore(t), Options{KeyFile: keyFile(t), Given: g}); err == nil {
				t.Error("accepted")
			}
		})
	}
}
