package jwtauth

import (
	"errors"
	"time"

	"github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"
)

// wireClaims are the claims Verify reads, decoded in one pass. Sub stays raw:
// a sub of the wrong type is the identity's problem (NoIdentity), not a
// malformed token.
//
// Claims are decoded with go-jose's JSON package, not encoding/json: it matches
// member names case-sensitively and rejects duplicate members, so a claim
// named "SUB" or a second "sub" can never stand in for the real one.
type wireClaims struct {
	Issuer    string           `json:"iss"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Subject   json.RawMessage  `json:"sub"`
}

// checkClaims decodes a verified payload, validates its registered claims with
// go-jose and returns the identity claim and the expiry.
func (v *Verifier) checkClaims(payload []byte) (string, time.Time, *Error) {
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return "", time.Time{}, fail(Malformed, "token claims are malformed", err)
	}
	// Production gateways require expiry.
	if w.Expiry == nil {
		return "", time.Time{}, fail(Malformed, "token has no exp claim", nil)
	}
	c := jwt.Claims{Issuer: w.Issuer, Audience: w.Audience, Expiry: w.Expiry, NotBefore: w.NotBefore, IssuedAt: w.IssuedAt}
	want := jwt.Expected{Issuer: v.issuer, AnyAudience: v.audiences, Time: v.now()}
	if err := c.ValidateWithLeeway(want, v.leeway); err != nil {
		return "", time.Time{}, claimError(err)
	}
	raw, err := v.identityClaim(payload, w.Subject)
	if err != nil {
		return "", time.Time{}, fail(Malformed, "token claims are malformed", err)
	}
	if raw == nil {
		return "", time.Time{}, fail(NoIdentity, v.noIdentity, nil)
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil || id == "" {
		return "", time.Time{}, fail(NoIdentity, v.noIdentity, err)
	}
	return id, w.Expiry.Time(), nil
}

// identityClaim returns the raw identity claim, nil when absent. Only a claim
// other than sub costs a second decode of the payload.
func (v *Verifier) identityClaim(payload []byte, sub json.RawMessage) (json.RawMessage, error) {
	if v.identity == defaultIdentity {
		return sub, nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(payload, &all); err != nil {
		return nil, err
	}
	return all[v.identity], nil
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
