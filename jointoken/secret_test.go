package jointoken

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSecret(t *testing.T) {
	id, secret := newSecret()
	random := secret[idLen+1:]
	tests := []struct {
		name   string
		secret string
		wantID string
		wantOK bool
	}{
		{"fresh", secret, id, true},
		{"empty", "", "", false},
		{"id only", id, "", false},
		{"upper-case id", "0123ABCD." + random, "", false}, // a random id may have no letter to upper-case
		{"non-hex id", "gggggggg." + random, "", false},
		{"no dot", id + "x" + random, "", false},
		{"short random", id + "." + random[:42], "", false},
		{"long random", id + "." + random + "A", "", false},
		{"padded", id + "." + random[:41] + "==", "", false},
		{"std alphabet", id + "." + strings.Repeat("+", 43), "", false},
		{"non-canonical last char", id + "." + random[:42] + "B", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotID, ok := parseSecret(tc.secret)
			if diff := cmp.Diff(tc.wantOK, ok); diff != "" {
				t.Fatalf("parseSecret(%q) ok (-want +got):\n%s", tc.secret, diff)
			}
			if diff := cmp.Diff(tc.wantID, gotID); diff != "" {
				t.Errorf("parseSecret(%q) id (-want +got):\n%s", tc.secret, diff)
			}
		})
	}
}

func FuzzParseSecret(f *testing.F) {
	_, secret := newSecret()
	for _, s := range []string{secret, "", "0123abcd.", "0123abcd." + strings.Repeat("A", 43), "0123ABCD." + strings.Repeat("_", 43), strings.Repeat(".", secretLen)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := parseSecret(s)
		if !ok {
			if id != "" {
				t.Errorf("parseSecret(%q) = %q, false: got an id, want none", s, id)
			}
			return
		}
		if !validID(id) || !strings.HasPrefix(s, id+".") {
			t.Errorf("parseSecret(%q) = %q: want the 8 hex digits before the dot", s, id)
		}
		random, err := secretEncoding.DecodeString(s[idLen+1:])
		if err != nil || len(random) != randomLen {
			t.Fatalf("parseSecret(%q) accepted %d random bytes (%v), want %d", s, len(random), err, randomLen)
		}
		// One secret string per token: the encoding is canonical.
		if got := id + "." + secretEncoding.EncodeToString(random); got != s {
			t.Errorf("re-encoding %q: got %q", s, got)
		}
	})
}
