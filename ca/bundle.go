package ca

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// TrustDomain is the trust domain of every identity the CA issues.
func (a *Authority) TrustDomain() spiffeid.TrustDomain {
	return a.td
}

// Roots returns every trusted root, the current one first.
func (a *Authority) Roots() []*x509.Certificate {
	s := a.view()
	out := make([]*x509.Certificate, len(s.roots))
	for i, r := range s.roots {
		out[i] = r.cert
	}
	return out
}

// BundlePEM returns the trusted roots as PEM certificates, the current one
// first: the trust bundle to give workloads.
func (a *Authority) BundlePEM() []byte {
	var out []byte
	for _, c := range a.Roots() {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// Pin returns the pin of the current root: the SHA-256 of its DER, in
// unpadded base64url. A workload given the pin (in its join token) checks
// the control plane's serving chain ends in that root before trusting it.
func (a *Authority) Pin() string {
	return pinOf(a.view().root())
}

// VerifyPin reports whether pin is the pin of root.
func VerifyPin(root *x509.Certificate, pin string) bool {
	if root == nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(pinOf(root)), []byte(pin)) == 1
}

func pinOf(root *x509.Certificate) string {
	sum := sha256.Sum256(root.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
