package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keySet is an immutable, parsed JWKS: the verification keys in document order.
// Sets are small (a handful of keys), so lookups scan the slice and allocate
// nothing.
type keySet struct {
	keys    []key
	fetched time.Time // when a URL set was fetched; zero for files
}

// key is one verification key of a set.
type key struct {
	id  string
	alg jose.SignatureAlgorithm // the JWK's alg; empty allows any alg fitting pub
	pub any                     // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte
}

func readKeyFile(path string) (*keySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read jwks file: %w", err)
	}
	ks, err := parseKeySet(data)
	if err != nil {
		return nil, fmt.Errorf("parse jwks file %s: %w", path, err)
	}
	return ks, nil
}

// parseKeySet decodes a JWKS document with go-jose. As RFC 7517 section 5
// asks, keys go-jose cannot parse (unknown kty, unsupported curve) and keys
// whose use is not "sig" are skipped; a set left with no key is an error.
func parseKeySet(data []byte) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	ks := &keySet{}
	var errs []error
	for i, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		pub := publicPart(jwk.Key)
		if pub == nil || (jwk.Use != "" && jwk.Use != "sig") {
			continue
		}
		ks.keys = append(ks.keys, key{id: jwk.KeyID, alg: jose.SignatureAlgorithm(jwk.Algorithm), pub: pub})
	}
	if len(ks.keys) > 0 {
		return ks, nil
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("jwks has no usable signing key: %w", errors.Join(errs...))
	}
	return nil, fmt.Errorf("jwks has no usable signing key among %d keys", len(doc.Keys))
}

// publicPart returns what verifies signatures made with k, or nil for key types
// this package does not verify with.
func publicPart(k any) any {
	switch k := k.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey, []byte:
		return k
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	}
	return nil
}

// usable reports whether k may verify a signature made with alg: the key type
// (and curve) must fit the algorithm, so an RSA public key can never serve as
// an HMAC secret, and a key that names its alg only serves that alg.
func (k *key) usable(alg jose.SignatureAlgorithm) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return isRSA(alg)
	case *ecdsa.PublicKey:
		return curveFor(alg) == pub.Curve
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	case []byte:
		return alg == jose.HS256 || alg == jose.HS384 || alg == jose.HS512
	}
	return false
}

func isRSA(alg jose.SignatureAlgorithm) bool {
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		return true
	}
	return false
}

func curveFor(alg jose.SignatureAlgorithm) elliptic.Curve {
	switch alg {
	case jose.ES256:
		return elliptic.P256()
	case jose.ES384:
		return elliptic.P384()
	case jose.ES512:
		return elliptic.P521()
	}
	return nil
}

// verify checks sig with the keys that match kid and fit alg. A token without
// kid matches every key, and so does a key without kid, as in Envoy's
// jwt_authn: some IdPs publish keys without ids. found reports whether there
// was any such key; err is the last verification failure when none verified.
func (s *keySet) verify(sig *jose.JSONWebSignature, kid string, alg jose.SignatureAlgorithm) (payload []byte, found bool, err error) {
	for i := range s.keys {
		k := &s.keys[i]
		if (kid != "" && k.id != "" && k.id != kid) || !k.usable(alg) {
			continue
		}
		found = true
		payload, err = sig.Verify(k.pub)
		if err == nil || !errors.Is(err, jose.ErrCryptoFailure) {
			return payload, true, err
		}
	}
	return nil, found, err
}
