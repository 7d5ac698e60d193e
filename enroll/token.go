package enroll

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// tokenForm is how a join token looks, for error messages.
const tokenForm = `"<id>.<secret>.<pin>" as printed by "pylon ctl token create"`

// joinToken is a parsed join token. Its String never shows the secret.
type joinToken struct {
	secret string            // "<id>.<secret>": what the control plane checks
	pin    [sha256.Size]byte // SHA-256 of the CA root's DER
}

// parseJoinToken parses "<id>.<secret>.<pin>". Errors never quote the
// token, which is a credential.
func parseJoinToken(s string) (joinToken, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return joinToken{}, fmt.Errorf("malformed join token: %d dot-separated parts, want 3: %s", len(parts), tokenForm)
	}
	for i, name := range []string{"id", "secret", "pin"} {
		if err := checkTokenPart(parts[i]); err != nil {
			return joinToken{}, fmt.Errorf("malformed join token: %s %w: %s", name, err, tokenForm)
		}
	}
	pin, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(pin) != sha256.Size {
		return joinToken{}, fmt.Errorf("malformed join token: pin is not the unpadded base64url of a SHA-256 hash: %s", tokenForm)
	}
	t := joinToken{secret: parts[0] + "." + parts[1]}
	copy(t.pin[:], pin)
	return t, nil
}

// checkTokenPart accepts the base64url alphabet, which covers hex IDs too.
func checkTokenPart(p string) error {
	if p == "" {
		return errors.New("is empty")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return fmt.Errorf("has a character outside [A-Za-z0-9_-] at byte %d", i)
		}
	}
	return nil
}

// String returns the token's ID part only, so formatting a joinToken
// never puts the secret in a log.
func (t joinToken) String() string {
	id, _, _ := strings.Cut(t.secret, ".")
	return id
}
