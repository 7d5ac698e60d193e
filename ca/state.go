package ca

import (
	"crypto"
	"crypto/cipher"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// stateKey is the store key of the CA's state.
const stateKey = "ca/state"

// stateJSON is the stored form of the CA.
type stateJSON struct {
	TrustDomain string     `json:"trust_domain"`
	Roots       []rootJSON `json:"roots"` // newest first
	// Intermediate and IntermediateKey are how states written before
	// two-phase rotation (2026-11) held the intermediate of Roots[0]; they
	// are read, never written.
	Intermediate    []byte `json:"intermediate,omitempty"`
	IntermediateKey []byte `json:"intermediate_key,omitempty"`
}

type rootJSON struct {
	Cert     []byte    `json:"cert"`              // DER
	Activate time.Time `json:"activate,omitzero"` // zero: issuing since it was made
	Retire   time.Time `json:"retire,omitzero"`   // zero: not replaced yet
	// Intermediate is the DER of the intermediate this root signed;
	// IntermediateKey its PKCS #8 key sealed with AES-256-GCM (nonce
	// first), bound to Intermediate as additional data. Absent only on
	// roots retiring from states written before two-phase rotation.
	Intermediate    []byte `json:"intermediate,omitempty"`
	IntermediateKey []byte `json:"intermediate_key,omitempty"`
}

// generation is one root with the intermediate it signed, and when it
// issues and stays trusted.
type generation struct {
	root     *x509.Certificate
	inter    *x509.Certificate // nil on a legacy retiring root
	interKey crypto.Signer
	// activate is when Sign starts using it (zero: from the start).
	activate time.Time
	// retire is when it stops being trusted (zero: not replaced yet).
	retire time.Time
}

// retiredAt reports whether g is no longer trusted at now.
func (g generation) retiredAt(now time.Time) bool {
	return !g.retire.IsZero() && !now.Before(g.retire)
}

// encodeState seals the intermediates' keys and encodes the state.
func encodeState(aead cipher.AEAD, td spiffeid.TrustDomain, gens []generation) ([]byte, error) {
	st := stateJSON{TrustDomain: td.Name()}
	for _, g := range gens {
		r := rootJSON{Cert: g.root.Raw, Activate: g.activate, Retire: g.retire}
		if g.inter != nil {
			pkcs8, err := x509.MarshalPKCS8PrivateKey(g.interKey)
			if err != nil {
				return nil, fmt.Errorf("marshal intermediate key: %w", err)
			}
			r.Intermediate, r.IntermediateKey = g.inter.Raw, seal(aead, pkcs8, g.inter.Raw)
		}
		st.Roots = append(st.Roots, r)
	}
	return json.Marshal(st)
}

// decodeState parses, checks and unseals a stored state.
func decodeState(aead cipher.AEAD, td spiffeid.TrustDomain, b []byte) ([]generation, error) {
	var st stateJSON
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if st.TrustDomain != td.Name() {
		return nil, fmt.Errorf("the stored CA is for trust domain %q, not %q", st.TrustDomain, td.Name())
	}
	if len(st.Roots) == 0 {
		return nil, errors.New("no current root")
	}
	if st.Intermediate != nil && st.Roots[0].Intermediate == nil {
		st.Roots[0].Intermediate, st.Roots[0].IntermediateKey = st.Intermediate, st.IntermediateKey
	}
	if st.Roots[0].Intermediate == nil {
		return nil, errors.New("the newest root has no intermediate")
	}
	if !st.Roots[0].Retire.IsZero() {
		// Nothing would be left to issue once it retired.
		return nil, errors.New("the newest root is set to retire")
	}
	gens := make([]generation, 0, len(st.Roots))
	for i, r := range st.Roots {
		g, err := decodeGeneration(aead, r)
		if err != nil {
			return nil, fmt.Errorf("root %d: %w", i, err)
		}
		gens = append(gens, g)
	}
	return gens, nil
}

func decodeGeneration(aead cipher.AEAD, r rootJSON) (generation, error) {
	root, err := x509.ParseCertificate(r.Cert)
	if err != nil {
		return generation{}, fmt.Errorf("parse root: %w", err)
	}
	g := generation{root: root, activate: r.Activate, retire: r.Retire}
	if r.Intermediate == nil {
		return g, nil
	}
	if g.inter, err = x509.ParseCertificate(r.Intermediate); err != nil {
		return generation{}, fmt.Errorf("parse intermediate: %w", err)
	}
	if err := g.inter.CheckSignatureFrom(root); err != nil {
		return generation{}, fmt.Errorf("intermediate is not signed by its root: %w", err)
	}
	if g.interKey, err = unsealKey(aead, r.IntermediateKey, g.inter); err != nil {
		return generation{}, err
	}
	return g, nil
}

// ErrWrongKeyFile is returned (wrapped) when the key file does not open the
// CA key in the store: it is not the key file the CA was created with.
var ErrWrongKeyFile = errors.New("the key file does not decrypt the CA key in the store (is it the key file the CA was created with?)")

func unsealKey(aead cipher.AEAD, sealed []byte, inter *x509.Certificate) (crypto.Signer, error) {
	pkcs8, err := open(aead, sealed, inter.Raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrongKeyFile, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("parse intermediate key: %w", err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("intermediate key is a %T, not a signer", k)
	}
	pub, ok := inter.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, errors.New("intermediate key does not match the intermediate certificate")
	}
	return key, nil
}
