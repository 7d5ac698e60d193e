package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"testing"
	"time"

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

// FuzzDecodeState feeds decodeState arbitrary stored states: it must never
// panic, and a state it accepts must have a newest root that can issue,
// so that a snapshot of it always has an issuer.
func FuzzDecodeState(f *testing.F) {
	st := newStore(f)
	opts := Options{KeyFile: keyFile(f)}
	a := openCA(f, st, opts)
	if err := a.Rotate(context.Background()); err != nil {
		f.Fatal(err)
	}
	kv, err := st.Get(context.Background(), stateKey)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(kv.Value), `{"trust_domain":"pylon.local"}`, `{"trust_domain":"pylon.local","roots":[{"cert":""}]}`, `null`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		gens, err := decodeState(a.aead, a.td, b)
		if err != nil {
			return
		}
		s := newSnapshot(1, gens, time.Now())
		if g := s.issuer(); g.inter == nil || g.interKey == nil {
			t.Errorf("accepted a state whose issuer has no intermediate: %+v", g)
		}
	})
}
