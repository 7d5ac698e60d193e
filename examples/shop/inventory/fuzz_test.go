package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pylon-mesh/pylon/examples/shop/internal/flaky"
)

// FuzzReserve sends arbitrary bodies to POST /reserve: each gets one of the
// documented statuses, and stock never goes below zero.
func FuzzReserve(f *testing.F) {
	for _, seed := range []string{
		`{"sku":"mug","qty":2}`, `{"sku":"mug","qty":4}`, `{"sku":"mug","qty":-1}`,
		`{"sku":"anvil","qty":1}`, `{"sku":"mug","qty":9223372036854775807}`,
		`{"sku":"mug","qty":1}{}`, `{"qty":1.5}`, `[]`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := newStock(map[string]int{"mug": 3})
		h := newHandler(&api{stock: s, instance: "inventory-1"}, flaky.Config{})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/reserve", strings.NewReader(body)))
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
		default:
			t.Errorf("got status %d for %q, want 200, 400, 404 or 409", rec.Code, body)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("got Content-Type %q for %q, want JSON", rec.Header().Get("Content-Type"), body)
		}
		if n, _ := s.available("mug"); n < 0 {
			t.Errorf("got %d mugs after %q, want at least 0", n, body)
		}
	})
}
