// Package flow holds what every part of the request path shares: the errors
// pylon itself answers with, their stable codes and statuses, and how they
// are rendered as a JSON body or as a gRPC status.
//
// The request path returns a *Error; the edge renders it once, logs it once
// and counts it once.
package flow

import (
	"errors"
	"unicode/utf8"
)

// Code is a stable, documented error code (docs/errors.md). Codes never
// change meaning once released; clients may branch on them.
type Code string

// The codes pylon answers with.
const (
	CodeBadRequest                Code = "bad_request"
	CodeAmbiguousFraming          Code = "ambiguous_framing"
	CodeBadChunk                  Code = "bad_chunk"
	CodeBadPath                   Code = "bad_path"
	CodeMissingHost               Code = "missing_host"
	CodeURITooLong                Code = "uri_too_long"
	CodeHeadersTooLarge           Code = "headers_too_large"
	CodeBodyTooLarge              Code = "body_too_large"
	CodeExpectationFailed         Code = "expectation_failed"
	CodeVersionNotSupported       Code = "version_not_supported"
	CodeUnsupportedTransferCoding Code = "unsupported_transfer_coding"
	CodeRequestTimeout            Code = "request_timeout"
	CodeNoRoute                   Code = "no_route"
	CodeMethodNotAllowed          Code = "method_not_allowed"
	CodeForbidden                 Code = "forbidden"
	CodeUnauthenticated           Code = "unauthenticated"
	CodeInvalidCredentials        Code = "invalid_credentials"
	CodeRateLimited               Code = "rate_limited"
	CodeAuthUnavailable           Code = "auth_unavailable"
	CodeRateLimitUnavailable      Code = "rate_limit_unavailable"
	CodeNoHealthyEndpoint         Code = "no_healthy_endpoint"
	CodeCircuitOpen               Code = "circuit_open"
	CodeUpstreamConnectFailed     Code = "upstream_connect_failed"
	CodeUpstreamReset             Code = "upstream_reset"
	CodeUpstreamProtocolError     Code = "upstream_protocol_error"
	CodeUpstreamTimeout           Code = "upstream_timeout"
	CodeShuttingDown              Code = "shutting_down"
	CodeInternal                  Code = "internal_error"
)

// Error is a request pylon refuses or fails, with the status and code the
// client gets. Msg is safe to show to the client; it never holds secrets.
type Error struct {
	Status int
	Code   Code
	Msg    string
	// Err is the underlying cause, for logs only.
	Err error
	// Header holds fields the answer carries besides the usual ones, like
	// WWW-Authenticate on a 401 or Retry-After on a 429.
	Header []Field
}

// Field is one header field of an error answer.
type Field struct {
	Name, Value string
}

// Error returns "code: msg" (and the cause, if any).
func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with the given status, code and message.
func New(status int, code Code, msg string) *Error {
	return &Error{Status: status, Code: code, Msg: msg}
}

// Wrap returns an *Error with a cause kept for the logs.
func Wrap(status int, code Code, msg string, err error) *Error {
	return &Error{Status: status, Code: code, Msg: msg, Err: err}
}

// As returns err as an *Error; anything else becomes a 500 internal_error.
func As(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return Wrap(500, CodeInternal, "internal error", err)
}

// AppendJSON appends the error's JSON body:
// {"error":{"code":"...","message":"...","request_id":"..."}}.
func (e *Error) AppendJSON(dst []byte, requestID []byte) []byte {
	dst = append(dst, `{"error":{"code":`...)
	dst = AppendJSONString(dst, string(e.Code))
	dst = append(dst, `,"message":`...)
	dst = AppendJSONString(dst, e.Msg)
	dst = append(dst, `,"request_id":`...)
	dst = AppendJSONString(dst, requestID)
	dst = append(dst, "}}\n"...)
	return dst
}

// AppendJSONString appends s as a JSON string. (strconv.Quote is not JSON:
// it writes \x00, \a and \v, which JSON has no escapes for.) Control bytes
// and DEL are \u-escaped and invalid UTF-8 becomes U+FFFD, so the result is
// always valid JSON. It does not allocate beyond growing b.
func AppendJSONString[S string | []byte](b []byte, s S) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		// At most 4 bytes, converted on the stack.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
