package adminapi_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/pylon-mesh/pylon/adminapi"
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

// BenchmarkAppLogs measures a tail of 1000 log lines served in-process:
// encoded and flushed line by line.
func BenchmarkAppLogs(b *testing.B) {
	h, app := newAppHarness(b)
	for i := range 1000 {
		app.write(adminapi.LogLine{Time: t0, Process: "orders-1", Stream: "stdout", Text: "GET /orders/" + strconv.Itoa(i) + " 200 1.2ms"})
	}
	req := httptest.NewRequest("GET", "/v1/app/logs/orders-1?tail=1000", nil)
	req.Header.Set("Authorization", "Bearer "+h.admin)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.api.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("got status %d", rec.Code)
		}
	}
}
