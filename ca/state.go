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
	Roots       []rootJSON `json:"roots"` // current first
	// Intermediate is the current intermediate's DER; IntermediateKey its
	// PKCS #8 key sealed with AES-256-GCM (nonce first), bound to
	// Intermediate as additional data.
	Intermediate    []byte `json:"intermediate"`
	IntermediateKey []byte `json:"intermediate_key"`
}

type rootJSON struct {
	Cert   []byte    `json:"cert"`            // DER
	Retire time.Time `json:"retire,omitzero"` // zero for the current root
}

// trustedRoot is a root with the time it stops being trusted (zero: never,
// it is current).
type trustedRoot struct {
	cert   *x509.Certificate
	retire time.Time
}

// encodeState seals the intermediate's key and encodes the state.
func encodeState(aead cipher.AEAD, td spiffeid.TrustDomain, roots []trustedRoot, inter *x509.Certificate, key crypto.Signer) ([]byte, error) {
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal intermediate key: %w", err)
	}
	st := stateJSON{
		TrustDomain:     td.Name(),
		Intermediate:    inter.Raw,
		IntermediateKey: seal(aead, pkcs8, inter.Raw),
	}
	for _, r := range roots {
		st.Roots = append(st.Roots, rootJSON{Cert: r.cert.Raw, Retire: r.retire})
	}
	return json.Marshal(st)
}

// decodeState parses, checks and unseals a stored state.
func decodeState(aead cipher.AEAD, td spiffeid.TrustDomain, b []byte) ([]trustedRoot, *x509.Certificate, crypto.Signer, error) {
	var st stateJSON
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, nil, fmt.Errorf("decode: %w", err)
	}
	if st.TrustDomain != td.Name() {
		return nil, nil, nil, fmt.Errorf("the stored CA is for trust domain %q, not %q", st.TrustDomain, td.Name())
	}
	roots, err := decodeRoots(st.Roots)
	if err != nil {
		return nil, nil, nil, err
	}
	inter, err := x509.ParseCertificate(st.Intermediate)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse intermediate: %w", err)
	}
	if err := inter.CheckSignatureFrom(roots[0].cert); err != nil {
		return nil, nil, nil, fmt.Errorf("intermediate is not signed by the current root: %w", err)
	}
	key, err := unsealKey(aead, st.IntermediateKey, inter)
	if err != nil {
		return nil, nil, nil, err
	}
	return roots, inter, key, nil
}

func decodeRoots(rs []rootJSON) ([]trustedRoot, error) {
	if len(rs) == 0 || !rs[0].Retire.IsZero() {
		return nil, errors.New("no current root")
	}
	roots := make([]trustedRoot, 0, len(rs))
	for i, r := range rs {
		c, err := x509.ParseCertificate(r.Cert)
		if err != nil {
			return nil, fmt.Errorf("parse root %d: %w", i, err)
		}
		roots = append(roots, trustedRoot{cert: c, retire: r.Retire})
	}
	return roots, nil
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
