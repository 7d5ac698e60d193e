package test

import (
	"io"
	"net/http"
	"testing"

	"github.com/pylon-mesh/pylon/internal/h2spectest"
)

// TestGatewayH2Spec runs the HTTP/2 conformance suite h2spec against the
// real gateway: an HTTPS listener (ALPN h2) and a cleartext one (HTTP/1.1
// and h2c by prior knowledge), both routing to an upstream that reads each
// request's body before it answers.
func TestGatewayH2Spec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key, _ := writeCert(t, dir, "h2spec.test")
	upstream := startHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "pylon h2spec upstream\n")
	}))
	g := startGateway(t, `
listeners:
  - name: web
    address: {{listen "web"}}
  - name: secure
    address: {{listen "secure"}}
    tls:
      certificates:
        - { cert: {{.Cert}}, key: {{.Key}} }
routes:
  - name: all
    match:
      path: { prefix: / }
    service: up
services:
  - name: up
    endpoints: [{{.Up}}]
`, map[string]string{"Cert": cert, "Key": key, "Up": upstream})

	t.Run("tls", func(t *testing.T) {
		h2spectest.Run(t, g.addr("secure"), h2spectest.Options{TLS: true})
	})
	t.Run("cleartext", func(t *testing.T) {
		h2spectest.Run(t, g.addr("web"), h2spectest.Options{Allowed: map[string]string{
			"http2/3.5/2": "a cleartext listener also serves HTTP/1.1, so bytes that are not the HTTP/2 preface are read as an HTTP/1.1 request and answered 400 before the close",
		}})
	})
}
