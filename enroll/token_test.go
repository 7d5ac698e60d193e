package enroll

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testPin = base64.RawURLEncoding.EncodeToString(make([]byte, sha256.Size))

func TestParseJoinToken(t *testing.T) {
	pin := sha256.Sum256([]byte("root"))
	pinText := base64.RawURLEncoding.EncodeToString(pin[:])
	tests := []struct {
		name    string
		in      string
		want    joinToken
		wantErr string
	}{
		{name: "valid", in: "0123abcd.c2VjcmV0_-." + pinText, want: joinToken{secret: "0123abcd.c2VjcmV0_-", pin: pin}},
		{name: "no pin", in: "0123abcd.c2VjcmV0", wantErr: "2 dot-separated parts"},
		{name: "extra part", in: "a.b.c." + pinText, wantErr: "4 dot-separated parts"},
		{name: "empty", in: "", wantErr: "1 dot-separated parts"},
		{name: "empty id", in: ".secret." + pinText, wantErr: "id is empty"},
		{name: "empty secret", in: "id.." + pinText, wantErr: "secret is empty"},
		{name: "space in secret", in: "id.sec ret." + pinText, wantErr: "secret has a character outside"},
		{name: "padded pin", in: "id.secret." + pinText + "=", wantErr: "pin has a character outside"},
		{name: "short pin", in: "id.secret.AAAA", wantErr: "pin is not the unpadded base64url of a SHA-256 hash"},
		{name: "std base64 pin", in: "id.secret.+AAA", wantErr: "pin has a character outside"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseJoinToken(tc.in)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("parseJoinToken(%q) = %v, want error containing %q", tc.in, got, tc.wantErr)
				}
				msg := err.Error()
				if !strings.Contains(msg, tc.wantErr) || !strings.Contains(msg, "<id>.<secret>.<pin>") {
					t.Errorf("error %q, want it to contain %q and the right form", msg, tc.wantErr)
				}
				if strings.Contains(msg, "secret.") || strings.Contains(msg, "sec ret") {
					t.Errorf("error %q quotes the token", msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJoinToken: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(joinToken{})); diff != "" {
				t.Errorf("parseJoinToken (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseJoinToken(f *testing.F) {
	for _, s := range []string{"0123abcd.c2VjcmV0." + testPin, "a.b.c", "..", "a.b." + testPin + "=", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseJoinToken(s)
		if err != nil {
			return
		}
		// A token that parses is exactly its parts again.
		again := tok.secret + "." + base64.RawURLEncoding.EncodeToString(tok.pin[:])
		if again != s {
			t.Errorf("parseJoinToken(%q) reassembles to %q", s, again)
		}
		if id, _, _ := strings.Cut(s, "."); tok.String() != id {
			t.Errorf("String() = %q, want the ID %q", tok.String(), id)
		}
	})
}
