package adminapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkAPI measures requests served in-process (no network): the
// token check is cached, as it is for a busy client.
func BenchmarkAPI(b *testing.B) {
	h := newHarness(b)
	for _, name := range []string{"a", "b", "c"} {
		req := httptest.NewRequest("POST", "/v1/services", strings.NewReader("name: "+name+"\nendpoints: [127.0.0.1:1]\n"))
		req.Header.Set("Authorization", "Bearer "+h.admin)
		rec := httptest.NewRecorder()
		h.api.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("create service %s: got status %d, want 201: %s", name, rec.Code, rec.Body)
		}
	}
	for _, bc := range []struct{ name, path string }{
		{"get_resource", "/v1/services/a"},
		{"list_resources", "/v1/services"},
		{"certs", "/v1/certs"},
		{"unauthenticated", "/v1/services"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.path, nil)
			if bc.name != "unauthenticated" {
				req.Header.Set("Authorization", "Bearer "+h.admin)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.api.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					b.Fatalf("got status %d", rec.Code)
				}
			}
		})
	}
}
