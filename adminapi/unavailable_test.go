package adminapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/jointoken"
)

// TestStoreDown checks that a store that cannot be reached is 503
// unavailable (worth retrying), never a client error: in the handlers,
// and in the token check before them.
func TestStoreDown(t *testing.T) {
	// A stopped clock keeps the admin token's check cached, so requests
	// reach the handlers after the store is gone.
	stopped := time.Now()
	h := newHarness(t, func(o *adminapi.Options) {
		o.Tokens = jointoken.New(o.Store, func() time.Time { return stopped })
	})
	want(t, h.do(t, "POST", "/v1/instances", `{"id":"i1","service":"orders","address":"127.0.0.1:1"}`), http.StatusCreated, "")
	unchecked, _, err := h.tokens.Create(t.Context(), jointoken.Token{Kind: jointoken.Admin})
	if err != nil {
		t.Fatalf("create admin token: %v", err)
	}
	if err := h.store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	tests := []struct{ method, path, body string }{
		{"GET", "/v1/services", ""},
		{"GET", "/v1/services/orders", ""},
		{"POST", "/v1/services", ordersService},
		{"PUT", "/v1/services/orders", ordersService},
		{"DELETE", "/v1/services/orders", ""},
		{"POST", "/v1/apply", "services:\n  - name: orders\n    endpoints: [127.0.0.1:1]\n"},
		{"GET", "/v1/instances", ""},
		{"POST", "/v1/instances", `{"id":"i2","service":"orders","address":"127.0.0.1:1"}`},
		{"GET", "/v1/instances/orders/i1", ""},
		{"PUT", "/v1/instances/orders/i1/heartbeat", ""},
		{"DELETE", "/v1/instances/orders/i1", ""},
		{"GET", "/v1/tokens", ""},
		{"POST", "/v1/tokens", `{"service":"orders"}`},
		{"DELETE", "/v1/tokens/00000000", ""},
		{"POST", "/v1/certs/rotate", ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			want(t, h.do(t, tc.method, tc.path, tc.body), http.StatusServiceUnavailable, "unavailable")
		})
	}
	t.Run("token check", func(t *testing.T) {
		resp := h.do(t, "GET", "/v1/certs", "", "Authorization", "Bearer "+unchecked)
		want(t, resp, http.StatusServiceUnavailable, "unavailable")
		if got := resp.header.Get("WWW-Authenticate"); got != "" {
			t.Errorf("got WWW-Authenticate %q, want none: the token was not refused", got)
		}
	})
}
