package jointoken

import (
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Kind says what a token is for.
type Kind string

// Token kinds.
const (
	// Join tokens let a workload get its first certificate, for the
	// identity the token names.
	Join Kind = "join"
	// Admin tokens authenticate admin API callers.
	Admin Kind = "admin"
)

// Token is a token's stored settings and state; its secret is not part of
// it.
type Token struct {
	// ID names the token; Create sets it.
	ID string `json:"id"`
	// Kind is what the token is for.
	Kind Kind `json:"kind"`
	// Service and Namespace are the identity a join token grants
	// (spiffe://<trust-domain>/ns/<namespace>/svc/<service>); both are
	// required for join tokens and empty for admin tokens.
	Service   string `json:"service,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// MaxUses is how many times the token can be redeemed; 0 means no limit.
	MaxUses int `json:"max_uses"`
	// Uses is how many times it has been redeemed.
	Uses int `json:"uses"`
	// Expires is when the token stops working; zero means never.
	Expires time.Time `json:"expires,omitzero"`
	// Created is when Create made it.
	Created time.Time `json:"created"`
	// Description is free text for operators, at most 1024 bytes.
	Description string `json:"description,omitempty"`
}

// Errors. Test with errors.Is.
var (
	// ErrInvalid: the secret is malformed, unknown, wrong, or for another
	// kind of token.
	ErrInvalid = errors.New("invalid token")
	// ErrExpired: the token expired.
	ErrExpired = errors.New("token expired")
	// ErrUsedUp: the token has been redeemed MaxUses times.
	ErrUsedUp = errors.New("token used up")
	// ErrNotFound: no token has the id.
	ErrNotFound = errors.New("token not found")
	// ErrBadFields: Create was given a token whose settings are not valid.
	ErrBadFields = errors.New("bad token settings")
)

// maxDescription is the longest description Create accepts, in bytes.
const maxDescription = 1024

// validate checks the settings of a token to create at time now.
func (t Token) validate(now time.Time) error {
	switch {
	case t.Kind != Join && t.Kind != Admin:
		return fmt.Errorf("%w: kind %q: want %q or %q", ErrBadFields, t.Kind, Join, Admin)
	case t.MaxUses < 0:
		return fmt.Errorf("%w: max_uses %d: want 0 (no limit) or more", ErrBadFields, t.MaxUses)
	case !t.Expires.IsZero() && !t.Expires.After(now):
		return fmt.Errorf("%w: expires %s is not in the future", ErrBadFields, t.Expires.Format(time.RFC3339))
	case len(t.Description) > maxDescription:
		return fmt.Errorf("%w: description longer than %d bytes", ErrBadFields, maxDescription)
	case t.Kind == Admin && (t.Service != "" || t.Namespace != ""):
		return fmt.Errorf("%w: admin tokens name no service or namespace", ErrBadFields)
	case t.Kind == Join:
		return validateIdentity(t.Namespace, t.Service)
	}
	return nil
}

// validateIdentity checks a join token's namespace and service can be path
// segments of a SPIFFE ID.
func validateIdentity(namespace, service string) error {
	if err := spiffeid.ValidatePathSegment(namespace); err != nil {
		return fmt.Errorf("%w: namespace %q: %w", ErrBadFields, namespace, err)
	}
	if err := spiffeid.ValidatePathSegment(service); err != nil {
		return fmt.Errorf("%w: service %q: %w", ErrBadFields, service, err)
	}
	return nil
}

// usable checks a verified token can be used at time now.
func (t Token) usable(now time.Time) error {
	if !t.Expires.IsZero() && !now.Before(t.Expires) {
		return fmt.Errorf("token %s: %w", t.ID, ErrExpired)
	}
	if t.MaxUses > 0 && t.Uses >= t.MaxUses {
		return fmt.Errorf("token %s: %w", t.ID, ErrUsedUp)
	}
	return nil
}
