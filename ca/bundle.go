package ca

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// TrustDomain is the trust domain of every identity the CA issues.
func (a *Authority) TrustDomain() spiffeid.TrustDomain {
	return a.td
}

// RootState is a trusted root's part in a rotation.
type RootState string

// The states of a trusted root.
const (
	// Active is the root whose intermediate Sign issues from.
	Active RootState = "active"
	// Next is a root Rotate added: trusted already, issuing from its
	// ActivatesAt.
	Next RootState = "next"
	// Retiring is a root a newer one replaced: trusted until its
	// RetiresAt.
	Retiring RootState = "retiring"
)

// RootStatus describes one trusted root.
type RootStatus struct {
	Cert  *x509.Certificate
	State RootState
	// ActivatesAt is when a Next root starts issuing; zero otherwise.
	ActivatesAt time.Time
	// RetiresAt is when the root stops being trusted: set on Retiring
	// roots and on an Active root that a Next one will replace, zero
	// otherwise.
	RetiresAt time.Time
	// Pinned marks the root the control plane's serving chain ends in;
	// Pin is its pin, the one join tokens carry.
	Pinned bool
}

// Status returns every trusted root, in the order of Roots.
func (a *Authority) Status() []RootStatus {
	s := a.view()
	out := make([]RootStatus, 0, len(s.gens))
	for _, i := range s.order() {
		g := s.gens[i]
		st := RootStatus{Cert: g.root, State: Active, RetiresAt: g.retire, Pinned: i == s.serving}
		switch {
		case i < s.active:
			st.State, st.ActivatesAt = Next, g.activate
		case i > s.active:
			st.State = Retiring
		}
		out = append(out, st)
	}
	return out
}

// order returns the indexes of s.gens with the active one first, then the
// others newest first.
func (s *snapshot) order() []int {
	out := make([]int, 0, len(s.gens))
	out = append(out, s.active)
	for i := range s.gens {
		if i != s.active {
			out = append(out, i)
		}
	}
	return out
}

// Roots returns every trusted root: the active one (whose intermediate
// Sign issues from) first, then the others, newest first.
func (a *Authority) Roots() []*x509.Certificate {
	s := a.view()
	out := make([]*x509.Certificate, 0, len(s.gens))
	for _, i := range s.order() {
		out = append(out, s.gens[i].root)
	}
	return out
}

// BundlePEM returns the trusted roots as PEM certificates, in the order of
// Roots: the trust bundle to give workloads.
func (a *Authority) BundlePEM() []byte {
	var out []byte
	for _, c := range a.Roots() {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// Pin returns the pin of the root the control plane's serving chain ends in
// (see ServingCertificate): the SHA-256 of its DER, in unpadded base64url.
// A workload given the pin (in its join token) checks the control plane's
// serving chain ends in that root before trusting it. Outside a rotation
// it is the active root; during one it stays the old root's until that
// retires.
func (a *Authority) Pin() string {
	return pinOf(a.view().server().root)
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
