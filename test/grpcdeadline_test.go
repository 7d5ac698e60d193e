package test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const grpcDeadlineConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: slow
    service: slow
    timeout: 30s
services:
  - name: slow
    protocol: grpc
    endpoints: [{{.Slow}}]
`

// TestGRPCDeadlineEnforcedByPylon sends a gRPC request with grpc-timeout
// to an upstream that ignores deadlines. A raw HTTP/2 client is used (not
// grpc-go, whose own timer would end the call first) so what is checked is
// that pylon itself ends the call with DEADLINE_EXCEEDED, both before the
// upstream answers and in the middle of a stream.
func TestGRPCDeadlineEnforcedByPylon(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/svc/Stream" {
			w.Header().Set("Content-Type", "application/grpc")
			w.WriteHeader(200)
			w.Write([]byte{0, 0, 0, 0, 1, 'x'})
			w.(http.Flusher).Flush()
		}
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	g := startGateway(t, grpcDeadlineConfig, map[string]string{"Slow": startH2CHandler(t, slow)})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)

	for _, path := range []string{"/svc/Unary", "/svc/Stream"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.url("web")+path, strings.NewReader("\x00\x00\x00\x00\x00"))
			req.Header.Set("Content-Type", "application/grpc")
			req.Header.Set("Te", "trailers")
			req.Header.Set("Grpc-Timeout", "200m")
			start := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("POST %s: %v", path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status := resp.Trailer.Get("Grpc-Status")
			if status == "" {
				status = resp.Header.Get("Grpc-Status") // trailers-only response
			}
			if status != "4" {
				t.Errorf("got grpc-status %q (header %v, trailer %v), want 4 (DEADLINE_EXCEEDED)", status, resp.Header, resp.Trailer)
			}
			// Bounded, not timed: the 5 s upstream must not be waited out.
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("call took %v; pylon should end it at the 200ms deadline, long before the upstream's 5s", took)
			}
		})
	}
}
