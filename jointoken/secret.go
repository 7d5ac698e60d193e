package jointoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

const (
	idLen      = 8  // hex digits
	randomLen  = 32 // bytes
	secretLen  = idLen + 1 + 43
	keyPrefix  = "tokens/"
	hashLength = sha256.Size
)

var secretEncoding = base64.RawURLEncoding.Strict()

// newSecret returns a fresh id and the secret that starts with it.
func newSecret() (id, secret string) {
	b := make([]byte, idLen/2+randomLen)
	rand.Read(b) // never fails (crypto/rand panics instead)
	id = hex.EncodeToString(b[:idLen/2])
	return id, id + "." + secretEncoding.EncodeToString(b[idLen/2:])
}

// parseSecret returns the id a well-formed secret starts with.
func parseSecret(secret string) (id string, ok bool) {
	if len(secret) != secretLen || secret[idLen] != '.' || !validID(secret[:idLen]) {
		return "", false
	}
	random, err := secretEncoding.DecodeString(secret[idLen+1:])
	if err != nil || len(random) != randomLen {
		return "", false
	}
	return secret[:idLen], true
}

// validID reports whether id is 8 lowercase hex digits.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// hashOf is what is stored of a secret. A well-formed secret is hashed
// from a stack copy, so Check's cached path does not allocate.
func hashOf(secret string) [hashLength]byte {
	var buf [secretLen]byte
	if len(secret) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], secret)])
	}
	return sha256.Sum256([]byte(secret))
}
