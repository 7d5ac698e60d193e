package h1

import "encoding/binary"

// Byte classes from RFC 9110 and RFC 3986, as lookup tables.
var (
	// tchar: token characters (RFC 9110 5.6.2).
	tchar = table(func(b byte) bool { return isAlnum(b) || in(b, "!#$%&'*+-.^_`|~") })
	// valueChar: field-vchar, SP and HTAB (RFC 9110 5.5): no CTL but HTAB.
	valueChar = table(func(b byte) bool { return b == '\t' || (b >= ' ' && b != 0x7f) })
	// targetChar: visible ASCII but '#' (a request-target has no fragment).
	targetChar = table(func(b byte) bool { return b > ' ' && b < 0x7f && b != '#' })
	// hostChar: characters of uri-host and port (RFC 3986 3.2.2).
	hostChar = table(func(b byte) bool { return isAlnum(b) || in(b, "-._~%!$&'()*+,;=:[]") })
	// qdtext: characters allowed unescaped in a quoted-string.
	qdtext = table(func(b byte) bool { return b == '\t' || b == ' ' || b == '!' || (b >= '#' && b != '\\' && b != 0x7f) })
)

func table(f func(byte) bool) (t [256]bool) {
	for i := range t {
		t[i] = f(byte(i))
	}
	return t
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func in(b byte, set string) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == b {
			return true
		}
	}
	return false
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// EqualLower reports whether b equals s, which must be lower-case ASCII,
// ignoring case in b. It does not allocate; header names are compared with
// it.
func EqualLower[S string | []byte](b []byte, s S) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// equalFold reports whether a and b are equal ignoring ASCII case.
func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// nextElement splits the first element off a comma-separated list
// (RFC 9110 5.6.1), trimming OWS around it.
func nextElement(list []byte) (elem, rest []byte) {
	for i, c := range list {
		if c == ',' {
			return trimOWS(list[:i]), list[i+1:]
		}
	}
	return trimOWS(list), nil
}

// ValidFieldName reports whether b is a valid header field name (a token).
func ValidFieldName(b []byte) bool { return isToken(b) }

// ValidFieldValue reports whether b may be sent as a header field value:
// no control bytes but HTAB, and no leading or trailing whitespace.
func ValidFieldValue(b []byte) bool {
	return validValue(b) && len(trimOWS(b)) == len(b)
}

// validValue reports whether v holds only field-vchar, SP and HTAB. It
// tests eight bytes at a time and looks closer only at words that may hold
// a control byte (or a HTAB).
func validValue(v []byte) bool {
	for len(v) >= 8 {
		if mayHaveCTL(binary.LittleEndian.Uint64(v)) {
			for _, c := range v[:8] {
				if !valueChar[c] {
					return false
				}
			}
		}
		v = v[8:]
	}
	for _, c := range v {
		if !valueChar[c] {
			return false
		}
	}
	return true
}

// mayHaveCTL reports whether a byte of x is below 0x20 or is 0x7f, with
// the classic has-less-than and has-zero word tests (exact for existence).
func mayHaveCTL(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	below := (x - ones*0x20) &^ x & high
	del := x ^ (ones * 0x7f)
	return (below | (del-ones)&^del&high) != 0
}
