package config

import (
	"os"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		b.Fatal(err)
	}
	blocks, _ := validBlocks(string(doc))
	full := []byte(blocks[len(blocks)-1])
	b.ReportAllocs()
	b.SetBytes(int64(len(full)))
	for b.Loop() {
		if _, err := Parse("pylon.yaml", full); err != nil {
			b.Fatal(err)
		}
	}
}
