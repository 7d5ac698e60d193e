package supervise

import (
	"io"
	"strings"
	"testing"
)

func BenchmarkPrinterLine(b *testing.B) {
	p := NewPrinter(io.Discard, 0, true)
	l := Line{Name: "orders-1", Stream: Stdout, Text: strings.Repeat("x", 120)}
	b.ReportAllocs()
	for b.Loop() {
		p.Line(l)
	}
}

func BenchmarkBufferLine(b *testing.B) {
	buf := NewBuffer(1000)
	l := Line{Name: "orders-1", Stream: Stdout, Text: strings.Repeat("x", 120)}
	b.ReportAllocs()
	for b.Loop() {
		buf.Line(l)
	}
}

// BenchmarkLineReader reads 1000 lines of 120 bytes per op.
func BenchmarkLineReader(b *testing.B) {
	in := strings.Repeat(strings.Repeat("x", 120)+"\n", 1000)
	lr := lineReader{name: "p", stream: Stdout, sink: Tee()}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		lr.run(strings.NewReader(in))
	}
}
