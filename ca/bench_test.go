package ca

import (
	"testing"
)

func BenchmarkSign(b *testing.B) {
	a := openCA(b, newStore(b), Options{KeyFile: keyFile(b)})
	csr := newCSR(b, newKey(b), web)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Sign(csr, web); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	a := openCA(b, newStore(b), Options{KeyFile: keyFile(b)})
	der, err := a.Sign(newCSR(b, newKey(b), web), web)
	if err != nil {
		b.Fatal(err)
	}
	chain := parseChain(b, der)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Verify(chain); err != nil {
			b.Fatal(err)
		}
	}
}
