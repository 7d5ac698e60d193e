package h1

import (
	"bytes"
	"testing"
)

// TestValidValueEveryByte checks the word-at-a-time test against the table
// for every byte at every position of a 17-byte value.
func TestValidValueEveryByte(t *testing.T) {
	for c := range 256 {
		for pos := range 17 {
			v := bytes.Repeat([]byte{'a'}, 17)
			v[pos] = byte(c)
			if got, want := validValue(v), valueChar[c]; got != want {
				t.Fatalf("validValue with byte %#x at %d = %v, want %v", c, pos, got, want)
			}
		}
	}
}
