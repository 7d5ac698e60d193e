package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRequestID(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("x", 129)
	tests := []struct {
		name       string
		method     string
		path       string
		sent       string
		wantStatus int
		wantEcho   bool
	}{
		{"echoed on success", "GET", "/v1/services", "req-1", http.StatusOK, true},
		{"echoed on error", "GET", "/v1/services/nope", "req-2", http.StatusNotFound, true},
		{"echoed before auth", "GET", "/v1/services", "req-3", http.StatusUnauthorized, true},
		{"echoed on the public document", "GET", "/v1/openapi.json", "req-4", http.StatusOK, true},
		{"128 characters kept", "GET", "/v1/services", long[:128], http.StatusOK, true},
		{"too long replaced", "GET", "/v1/services", long, http.StatusOK, false},
		{"made up when absent", "GET", "/v1/services", "", http.StatusOK, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"X-Request-Id", tc.sent}
			if tc.wantStatus == http.StatusUnauthorized {
				headers = append(headers, "Authorization", "")
			}
			resp := h.do(t, tc.method, tc.path, "", headers...)
			if resp.status != tc.wantStatus {
				t.Fatalf("got status %d, want %d", resp.status, tc.wantStatus)
			}
			got := resp.header.Get("X-Request-Id")
			if diff := cmp.Diff(tc.wantEcho, got == tc.sent); diff != "" || got == "" {
				t.Errorf("got X-Request-Id %q for %q sent; want echoed: %v", got, tc.sent, tc.wantEcho)
			}
		})
	}
	a := h.do(t, "GET", "/v1/services", "").header.Get("X-Request-Id")
	b := h.do(t, "GET", "/v1/services", "").header.Get("X-Request-Id")
	if a == b {
		t.Errorf("got the same made-up request ID %q twice, want one per request", a)
	}
}

// TestErrorsAreUniform sends a bad request to every kind of route; the
// harness checks each answer's content type, code and request ID.
func TestErrorsAreUniform(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantCode           string
	}{
		{"POST", "/v1/apply", "listeners: 3\n", 422, "invalid_config"},
		{"POST", "/v1/apply", "routes:\n  - name: r\n    service: nope\n", 422, "invalid_config"},
		{"GET", "/v1/routes/nope", "", 404, "not_found"},
		{"PUT", "/v1/routes/a", "name: b\nservice: s\n", 400, "bad_request"},
		{"DELETE", "/v1/listeners/nope", "", 404, "not_found"},
		{"POST", "/v1/instances", "{", 400, "bad_request"},
		{"GET", "/v1/instances/orders/nope", "", 404, "not_found"},
		{"PUT", "/v1/instances/orders/nope/heartbeat", "", 404, "not_found"},
		{"DELETE", "/v1/instances/orders/nope", "", 404, "not_found"},
		{"POST", "/v1/tokens", "[]", 400, "bad_request"},
		{"DELETE", "/v1/tokens/00000000", "", 404, "not_found"},
		{"PATCH", "/v1/services/orders", "", 404, "not_found"},
		{"GET", "/v1", "", 404, "not_found"},
		{"GET", "/metrics", "", 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			want(t, h.do(t, tc.method, tc.path, tc.body, "X-Request-Id", "uniform-"+tc.method), tc.wantStatus, tc.wantCode)
		})
	}
}
