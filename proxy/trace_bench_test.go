package proxy

import (
	"testing"
)

// BenchmarkTraceHTTP1 measures one keep-alive GET through the plaintext
// HTTP/1.1 path with tracing off, on for a request without a traceparent
// (pylon begins the trace), and on for one that carries one.
func BenchmarkTraceHTTP1(b *testing.B) {
	const head = "GET /bench HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\n"
	for _, bc := range []struct {
		name string
		on   bool
		req  string
	}{
		{"off", false, head + "\r\n"},
		{"begin", true, head + "\r\n"},
		{"continue", true, head + "Traceparent: " + callerParent + "\r\nTracestate: k=v\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lc := testListener(b, "plain", testService(b, rawUpstream(b)))
			snap := &Snapshot{Listeners: map[string]*ListenerConfig{"plain": lc}}
			if bc.on {
				snap.Tracing = &Tracing{SampleRatio: 1}
			}
			benchKeepAlive(b, snap, bc.req)
		})
	}
}
