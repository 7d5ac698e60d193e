// Package tracecontext reads and writes the traceparent header of W3C
// Trace Context (https://www.w3.org/TR/trace-context/): the trace a request
// belongs to, the span that sent it, and whether the trace is sampled. It
// imports only the standard library and allocates nothing, so the request
// path can use it.
package tracecontext

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
)

// TraceID identifies a trace; all zeros is invalid.
type TraceID [16]byte

// SpanID identifies a span within a trace; all zeros is invalid.
type SpanID [8]byte

// Flags are the trace-flags of a traceparent.
type Flags byte

// Sampled is the trace-flag saying the caller may have recorded the trace.
const Sampled Flags = 0x01

// IsZero reports whether the ID is the invalid all-zero one.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// IsZero reports whether the ID is the invalid all-zero one.
func (s SpanID) IsZero() bool { return s == SpanID{} }

// String is the ID in lower-case hex, as traceparent writes it.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// String is the ID in lower-case hex, as traceparent writes it.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// Context is one traceparent: a trace, the span that is the parent of
// whatever receives it, and the trace-flags.
type Context struct {
	TraceID TraceID
	SpanID  SpanID
	Flags   Flags
}

// Sampled reports whether the sampled flag is set.
func (c Context) Sampled() bool { return c.Flags&Sampled != 0 }

// Len is the length of a version 00 traceparent.
const Len = 55

// Parse reads a traceparent value (already trimmed of surrounding
// whitespace). It reports false for any value the specification says to
// treat as absent (section 3.2): a wrong length or separator, upper-case
// or non-hex digits, version ff, an all-zero trace or parent ID, or
// version 00 with anything after the flags. A higher version is read as
// version 00 when what follows the flags starts with a dash. Flags other
// than sampled, unknown in version 00, are dropped.
func Parse[S string | []byte](v S) (Context, bool) {
	var c Context
	if len(v) < Len || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return c, false
	}
	var ver [1]byte
	if !decode(ver[:], v[0:2]) || ver[0] == 0xff {
		return c, false
	}
	if (ver[0] == 0 && len(v) != Len) || (len(v) > Len && v[Len] != '-') {
		return c, false
	}
	var flags [1]byte
	if !decode(c.TraceID[:], v[3:35]) || !decode(c.SpanID[:], v[36:52]) || !decode(flags[:], v[53:55]) {
		return c, false
	}
	if c.TraceID.IsZero() || c.SpanID.IsZero() {
		return c, false
	}
	c.Flags = Flags(flags[0]) & Sampled
	return c, true
}

// decode fills dst from lower-case hex src, twice as long.
func decode[S string | []byte](dst []byte, src S) bool {
	for i := range dst {
		hi, ok1 := nibble(src[2*i])
		lo, ok2 := nibble(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func nibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

const digits = "0123456789abcdef"

// Append appends c as a version 00 traceparent value.
func (c Context) Append(dst []byte) []byte {
	dst = append(dst, '0', '0', '-')
	dst = appendHex(dst, c.TraceID[:])
	dst = append(dst, '-')
	dst = appendHex(dst, c.SpanID[:])
	dst = append(dst, '-')
	return append(dst, digits[c.Flags>>4], digits[c.Flags&0x0f])
}

func appendHex(dst, src []byte) []byte {
	for _, b := range src {
		dst = append(dst, digits[b>>4], digits[b&0x0f])
	}
	return dst
}

// String is c as a version 00 traceparent value.
func (c Context) String() string {
	var b [Len]byte
	return string(c.Append(b[:0]))
}

// NewTraceID returns a random, valid trace ID.
func NewTraceID() TraceID {
	var t TraceID
	for t.IsZero() {
		binary.BigEndian.PutUint64(t[:8], rand.Uint64())
		binary.BigEndian.PutUint64(t[8:], rand.Uint64())
	}
	return t
}

// NewSpanID returns a random, valid span ID.
func NewSpanID() SpanID {
	var s SpanID
	for s.IsZero() {
		binary.BigEndian.PutUint64(s[:], rand.Uint64())
	}
	return s
}

// Child returns the context of a new span under c: the same trace and
// flags, a new span ID.
func (c Context) Child() Context {
	c.SpanID = NewSpanID()
	return c
}

// Begin returns the context of the first span of a new trace, sampled
// with probability ratio (0 to 1).
func Begin(ratio float64) Context {
	c := Context{TraceID: NewTraceID(), SpanID: NewSpanID()}
	if ratio >= 1 || (ratio > 0 && rand.Float64() < ratio) {
		c.Flags = Sampled
	}
	return c
}
