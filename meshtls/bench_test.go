package meshtls

import (
	"io"
	"net/http"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/internal/testpki"
)

// BenchmarkRoundTrip measures a small GET over one pooled connection.
func BenchmarkRoundTrip(b *testing.B) {
	ca := testpki.NewCA(b)
	catalog := issue(b, ca, "spiffe://pylon.local/ns/default/svc/catalog")
	orders := issue(b, ca, "spiffe://pylon.local/ns/default/svc/orders")
	addr := inbound(b, catalog, false, &Stats{})
	rt := Transport(orders, func(string) (spiffeid.ID, bool) { return catalog.id, true }, &Stats{})
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
