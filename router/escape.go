package router

import "bytes"

// cutByte is bytes.Cut for a one-byte separator, which is faster.
func cutByte(s []byte, sep byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, nil, false
}

// unhex returns the value of a hex digit and whether c is one.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescapeAt decodes the query byte at raw[i]: "%XX" is one byte and '+' is
// a space. It returns the byte, the bytes consumed, and false when the escape
// is malformed.
func unescapeAt(raw []byte, i int) (byte, int, bool) {
	switch raw[i] {
	case '+':
		return ' ', 1, true
	case '%':
		if i+2 >= len(raw) {
			return 0, 0, false
		}
		hi, ok1 := unhex(raw[i+1])
		lo, ok2 := unhex(raw[i+2])
		return hi<<4 | lo, 3, ok1 && ok2
	}
	return raw[i], 1, true
}

// unescapedEqual reports whether raw, query-unescaped, equals want. It does
// not allocate; a malformed escape never equals.
func unescapedEqual(raw []byte, want string) bool {
	j := 0
	for i := 0; i < len(raw); {
		c, n, ok := unescapeAt(raw, i)
		if !ok || j >= len(want) || want[j] != c {
			return false
		}
		i += n
		j++
	}
	return j == len(want)
}

// validEscapes reports whether every escape in raw is well formed.
func validEscapes(raw []byte) bool {
	for i := 0; i < len(raw); {
		_, n, ok := unescapeAt(raw, i)
		if !ok {
			return false
		}
		i += n
	}
	return true
}

// unescape returns raw, query-unescaped. raw must have valid escapes.
func unescape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c, n, _ := unescapeAt(raw, i)
		out = append(out, c)
		i += n
	}
	return out
}
