package h1

import "errors"

// Stable error codes carried by *Error. They are part of Pylon's public
// error vocabulary (docs/errors.md) and never change meaning.
const (
	// CodeBadRequest (400): malformed syntax in a start line, a header
	// field or a trailer field; an invalid Content-Length or Host value.
	CodeBadRequest = "bad_request"
	// CodeAmbiguousFraming (400): the body length could be read two ways:
	// Content-Length with Transfer-Encoding, differing Content-Length
	// values, more than one Transfer-Encoding field, a coding list that does
	// not end in exactly one "chunked", or Transfer-Encoding in HTTP/1.0.
	CodeAmbiguousFraming = "ambiguous_framing"
	// CodeUnsupportedTransferCoding (501): a well-formed Transfer-Encoding
	// that ends in chunked but applies other codings first (e.g.
	// "gzip, chunked"); Pylon only decodes chunked.
	CodeUnsupportedTransferCoding = "unsupported_transfer_coding"
	// CodeBadChunk (400): a malformed chunked body: a chunk-size line that
	// is not 1-16 hex digits, overflows, has whitespace or bad extension
	// syntax or is longer than 4 KiB; a missing CRLF after chunk data; a
	// bare LF; a malformed trailer line.
	CodeBadChunk = "bad_chunk"
	// CodeURITooLong (414): the request-target is longer than
	// Limits.MaxURIBytes.
	CodeURITooLong = "uri_too_long"
	// CodeHeadersTooLarge (431): the head (start line plus fields) is longer
	// than Limits.MaxHeaderBytes or has more than Limits.MaxHeaders fields;
	// trailers count against the same limits.
	CodeHeadersTooLarge = "headers_too_large"
	// CodeVersionNotSupported (505): a well-formed HTTP version other than
	// HTTP/1.0 or HTTP/1.1.
	CodeVersionNotSupported = "version_not_supported"
	// CodeExpectationFailed (417): an Expect field other than 100-continue.
	CodeExpectationFailed = "expectation_failed"
	// CodeMissingHost (400): an HTTP/1.1 request without a Host field, with
	// more than one, or with an empty one.
	CodeMissingHost = "missing_host"
)

// Error is a refusal of malformed or limit-breaking input. Status is the
// HTTP status to answer with (a proxy answers 502 for a bad response).
type Error struct {
	Status int
	Code   string
	Msg    string
}

// Error returns the code and message.
func (e *Error) Error() string { return "h1: " + e.Code + ": " + e.Msg }

// ErrUnreadBody is returned by ReadRequest and ReadResponse when the
// previous message's body has not been read to its end: its bytes would
// otherwise be parsed as the next message.
var ErrUnreadBody = errors.New("h1: reading next message: previous body not read to its end")

func badRequest(msg string) *Error { return &Error{Status: 400, Code: CodeBadRequest, Msg: msg} }

func ambiguous(msg string) *Error { return &Error{Status: 400, Code: CodeAmbiguousFraming, Msg: msg} }

func badChunk(msg string) *Error { return &Error{Status: 400, Code: CodeBadChunk, Msg: msg} }

func tooLarge(msg string) *Error { return &Error{Status: 431, Code: CodeHeadersTooLarge, Msg: msg} }
