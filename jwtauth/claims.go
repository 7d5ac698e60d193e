package jwtauth

import (
	"encoding/json"
	"errors"

	"github.com/go-jose/go-jose/v4/jwt"
)

// checkClaims decodes a verified payload, validates its registered claims with
// go-jose and returns the identity claim.
func (v *Verifier) checkClaims(payload []byte) (string, *Error) {
	// A map rather than jwt.Claims: the identity claim is named at run time,
	// and a claim of the wrong type must be reported as that claim's problem.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return "", fail(Malformed, "token claims are not a JSON object", err)
	}
	c, e := registered(raw)
	if e != nil {
		return "", e
	}
	want := jwt.Expected{Issuer: v.issuer, AnyAudience: v.audiences, Time: v.now()}
	if err := c.ValidateWithLeeway(want, v.leeway); err != nil {
		return "", claimError(err)
	}
	b, ok := raw[v.identity]
	if !ok {
		return "", fail(NoIdentity, v.noIdentity, nil)
	}
	var id string
	if err := json.Unmarshal(b, &id); err != nil || id == "" {
		return "", fail(NoIdentity, v.noIdentity, err)
	}
	return id, nil
}

// registered decodes the claims ValidateWithLeeway checks. Production gateways
// require expiry, so a token without exp is malformed.
func registered(raw map[string]json.RawMessage) (jwt.Claims, *Error) {
	var c jwt.Claims
	fields := []struct {
		name string
		dst  any
	}{
		{"iss", &c.Issuer},
		{"aud", &c.Audience},
		{"exp", &c.Expiry},
		{"nbf", &c.NotBefore},
		{"iat", &c.IssuedAt},
	}
	for _, f := range fields {
		b, ok := raw[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(b, f.dst); err != nil {
			return c, fail(Malformed, "token claim "+f.name+" is malformed", err)
		}
	}
	if c.Expiry == nil {
		return c, fail(Malformed, "token has no exp claim", nil)
	}
	return c, nil
}

func claimError(err error) *Error {
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return fail(Expired, "token has expired", err)
	case errors.Is(err, jwt.ErrNotValidYet):
		return fail(NotYetValid, "token is not valid yet", err)
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return fail(NotYetValid, "token was issued in the future", err)
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return fail(WrongIssuer, "token issuer is not accepted", err)
	case errors.Is(err, jwt.ErrInvalidAudience):
		return fail(WrongAudience, "token audience is not accepted", err)
	}
	return fail(Malformed, "token claims are invalid", err)
}
