package flow

// GRPCStatus is the gRPC status code a gRPC client gets for the error, so
// that a failure pylon itself generates reads as a proper gRPC status rather
// than an HTTP error page.
func (e *Error) GRPCStatus() int {
	switch e.Code {
	case CodeNoRoute, CodeMethodNotAllowed:
		return 12 // UNIMPLEMENTED
	case CodeForbidden:
		return 7 // PERMISSION_DENIED
	case CodeUnauthenticated, CodeInvalidCredentials:
		return 16 // UNAUTHENTICATED
	case CodeRateLimited:
		return 8 // RESOURCE_EXHAUSTED: the caller's quota, not the server, is spent
	case CodeUpstreamTimeout, CodeRequestTimeout:
		return 4 // DEADLINE_EXCEEDED
	case CodeBodyTooLarge, CodeHeadersTooLarge, CodeURITooLong:
		return 8 // RESOURCE_EXHAUSTED
	case CodeNoHealthyEndpoint, CodeCircuitOpen, CodeUpstreamConnectFailed, CodeUpstreamReset, CodeAuthUnavailable, CodeRateLimitUnavailable, CodeShuttingDown:
		return 14 // UNAVAILABLE
	case CodeUpstreamProtocolError:
		return 13 // INTERNAL: a malformed upstream response is not transient
	}
	switch {
	case e.Status == 401:
		return 16 // UNAUTHENTICATED
	case e.Status == 403:
		return 7 // PERMISSION_DENIED
	case e.Status == 429 || e.Status == 502 || e.Status == 503:
		return 14 // UNAVAILABLE
	case e.Status == 504:
		return 4 // DEADLINE_EXCEEDED
	}
	return 13 // INTERNAL
}

// GRPCMessage is the grpc-message value: the code, message and request ID,
// percent-encoded as the gRPC spec requires.
func (e *Error) GRPCMessage(requestID []byte) string {
	return percentEncode(string(e.Code) + ": " + e.Msg + " (request_id " + string(requestID) + ")")
}

// percentEncode encodes bytes outside printable ASCII and '%' as %XX, per
// the grpc-message rules in gRPC's HTTP/2 protocol spec.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// IsGRPC reports whether a Content-Type value names gRPC
// (application/grpc, application/grpc+proto, ...).
func IsGRPC(contentType []byte) bool {
	const p = "application/grpc"
	if len(contentType) < len(p) || string(contentType[:len(p)]) != p {
		return false
	}
	return len(contentType) == len(p) || contentType[len(p)] == '+' || contentType[len(p)] == ';'
}
