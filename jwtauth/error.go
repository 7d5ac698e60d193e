package jwtauth

// Reason is a stable, low-cardinality label for why a token was refused, fit for
// metrics and logs.
type Reason string

// The reasons Verify reports. All but KeysUnavailable mean the client sent a
// token that is not acceptable (HTTP 401); KeysUnavailable means the gateway
// could not check it (HTTP 503).
const (
	Malformed       Reason = "malformed"        // not a compact JWS, bad base64/JSON, too big, no exp
	BadAlgorithm    Reason = "bad_algorithm"    // alg not allowed
	UnknownKey      Reason = "unknown_key"      // no key in the set matches kid (after one refetch for URL sets)
	BadSignature    Reason = "bad_signature"    // no candidate key verifies the signature
	Expired         Reason = "expired"          // exp in the past beyond leeway
	NotYetValid     Reason = "not_yet_valid"    // nbf (or iat) in the future beyond leeway
	WrongIssuer     Reason = "wrong_issuer"     // iss differs from Config.Issuer
	WrongAudience   Reason = "wrong_audience"   // aud has none of Config.Audiences
	NoIdentity      Reason = "no_identity"      // identity claim missing, empty or not a string
	KeysUnavailable Reason = "keys_unavailable" // JWKS URL never fetched successfully
)

// Error is what Verify returns. Reason is stable (for metrics and logs). Message
// is safe to show a client: it names claims but never echoes token contents or
// key material, and it fits a WWW-Authenticate error_description as is
// (printable ASCII, no '"' or '\'). Err is the underlying cause, for logs; it
// may be nil and may quote token contents.
type Error struct {
	Reason  Reason
	Message string
	Err     error
}

// Error returns the reason, the message and, when there is one, the cause.
func (e *Error) Error() string {
	s := "verify jwt: " + string(e.Reason) + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func fail(r Reason, msg string, err error) *Error {
	return &Error{Reason: r, Message: msg, Err: err}
}
