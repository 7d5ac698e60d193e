package ca

import (
	"crypto"
	"crypto/x509"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzSign feeds Sign arbitrary CSR bytes: it must never panic, and what it
// signs must name exactly the authorised identity, for the CSR's key, and
// verify.
func FuzzSign(f *testing.F) {
	a := openCA(f, newStore(f), Options{KeyFile: keyFile(f)})
	key := newKey(f)
	good := newCSR(f, key, web)
	for _, seed := range [][]byte{good, newCSR(f, key), newCSR(f, key, other), newCSR(f, key, web, other), good[:len(good)/2], nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, csrDER []byte) {
		der, err := a.Sign(csrDER, web)
		if err != nil {
			return
		}
		csr, err := x509.ParseCertificateRequest(csrDER)
		if err != nil {
			t.Fatalf("Sign accepted a CSR that does not parse: %v", err)
		}
		chain := parseChain(t, der)
		var uris []string
		for _, u := range chain[0].URIs {
			uris = append(uris, u.String())
		}
		if diff := cmp.Diff([]string{web.String()}, uris); diff != "" {
			t.Errorf("leaf URIs (-want +got):\n%s", diff)
		}
		if !chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(csr.PublicKey) {
			t.Errorf("leaf key is not the CSR's key")
		}
		if _, err := a.Verify(chain); err != nil {
			t.Errorf("Verify(signed leaf): %v", err)
		}
	})
}
