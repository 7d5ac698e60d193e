package proxy

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// BenchmarkH2ToHTTP1 measures one small GET from an HTTP/2 (h2c) client
// through pylon to an HTTP/1.1 upstream, the leg a mesh sidecar's inbound
// listener serves for every request.
func BenchmarkH2ToHTTP1(b *testing.B) {
	lc := testListener(b, "plain", testService(b, rawUpstream(b)))
	srv := NewServer(slog.New(slog.DiscardHandler))
	srv.Store(&Snapshot{Listeners: map[string]*ListenerConfig{"plain": lc}})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	url := "http://" + serveOn(b, srv, "plain") + "/bench"
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, resp.Body, buf); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("got status %d, want 200", resp.StatusCode)
		}
	}
}
