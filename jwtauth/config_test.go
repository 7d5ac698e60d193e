package jwtauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	file := writeFile(t, standardSet(t, false))
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error
	}{
		{"no issuer", Config{JWKSFile: file}, "issuer is required"},
		{"no key source", Config{Issuer: testIssuer}, "exactly one of jwks file and jwks url"},
		{"both key sources", Config{Issuer: testIssuer, JWKSFile: file, JWKSURL: "https://idp.example/jwks"}, "exactly one of jwks file and jwks url"},
		{"relative url", Config{Issuer: testIssuer, JWKSURL: "/jwks"}, "not an absolute http(s) url"},
		{"ftp url", Config{Issuer: testIssuer, JWKSURL: "ftp://idp.example/jwks"}, "not an absolute http(s) url"},
		{"unparsable url", Config{Issuer: testIssuer, JWKSURL: "http://[::1"}, "parse jwks url"},
		{"alg none", Config{Issuer: testIssuer, JWKSFile: file, Algorithms: []string{"RS256", "none"}}, `algorithm "none" is not supported`},
		{"unknown alg", Config{Issuer: testIssuer, JWKSFile: file, Algorithms: []string{"RS257"}}, `algorithm "RS257" is not supported`},
		{"identity claim with a quote", Config{Issuer: testIssuer, JWKSFile: file, IdentityClaim: `a"b`}, "error description cannot carry"},
		{"identity claim with a newline", Config{Issuer: testIssuer, JWKSFile: file, IdentityClaim: "a\nb"}, "error description cannot carry"},
		{"negative leeway", Config{Issuer: testIssuer, JWKSFile: file, Leeway: -time.Second}, "leeway -1s is negative"},
		{"negative refresh", Config{Issuer: testIssuer, JWKSURL: "https://idp.example/jwks", Refresh: -time.Second}, "refresh -1s is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if v != nil {
				t.Errorf("got a verifier, want nil")
			}
		})
	}
}

func TestNewJWKSFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatalf("write: %v", err)
		}
		return path
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing", filepath.Join(dir, "missing.json"), "no such file"},
		{"not json", write("html.json", "<html>"), "decode jwks"},
		{"no keys member", write("empty.json", "{}"), "no usable signing key among 0 keys"},
		{"only a broken key", write("broken.json", `{"keys":[{"kty":"RSA","n":"AQAB"}]}`), "no usable signing key: key 0"},
		{"only an encryption key", write("enc.json", `{"keys":[{"kty":"oct","use":"enc","k":"c2VjcmV0"}]}`), "no usable signing key among 1 keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Issuer: testIssuer, JWKSFile: tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %s and containing %q", err, tc.path, tc.want)
			}
		})
	}
}
