package adminapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"}

// FuzzHandler sends arbitrary requests, with and without the admin token,
// and checks every answer is one the document lists, and every error a
// JSON body with a documented code and the request ID. Watches are left
// out: they stream until the client goes.
func FuzzHandler(f *testing.F) {
	h := newHarness(f)
	f.Add(byte(1), "/v1/services", ordersService, "", true)
	f.Add(byte(2), "/v1/services/orders", ordersService, `"3"`, true)
	f.Add(byte(2), "/v1/routes/orders?dry_run=1", ordersRoute, "", true)
	f.Add(byte(3), "/v1/services/orders", "", "*", true)
	f.Add(byte(1), "/v1/apply?filename=x.yaml", "listeners:\n  - name: web\n    address: 127.0.0.1:8080\n", "", true)
	f.Add(byte(1), "/v1/instances", `{"id":"i1","service":"orders","address":"127.0.0.1:1"}`, "", true)
	f.Add(byte(2), "/v1/instances/orders/i1/heartbeat", `{"health":"healthy"}`, "", true)
	f.Add(byte(1), "/v1/tokens", `{"service":"orders","ttl":"1h"}`, "", true)
	f.Add(byte(3), "/v1/tokens/00000000", "", "", true)
	f.Add(byte(0), "/v1/openapi.json", "", "", false)
	f.Add(byte(0), "/v1/certs", "", "", false)
	f.Add(byte(4), "/v1//services/../tokens", "{", "", true)
	f.Add(byte(1), "/v1/consumers", "name: partner\napi_keys: ["+partnerKey+"]\nrate_limit: {requests: 5, per: 1s}\n", "", true)
	f.Add(byte(2), "/v1/policies/keyed", "name: keyed\nauthentication: {api_key: {}}\nallow_consumers: [partner]\n", "", true)
	f.Add(byte(1), "/v1/apply", gatewayPoliciesDoc, "", true)
	f.Add(byte(3), "/v1/consumers/partner", "", "", true)
	f.Fuzz(func(t *testing.T, method byte, target, body, ifMatch string, withToken bool) {
		req, err := http.NewRequestWithContext(t.Context(), fuzzMethods[int(method)%len(fuzzMethods)], "http://pylon.test"+target, strings.NewReader(body))
		if err != nil || !strings.HasPrefix(req.URL.Path, "/") || req.URL.Query().Has("watch") || req.URL.Path == "/v1/certs/rotate" {
			return
		}
		if withToken {
			req.Header.Set("Authorization", "Bearer "+h.admin)
		}
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		rec := httptest.NewRecorder()
		h.api.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Result().Body)
		if !withToken && req.URL.Path != "/v1/openapi.json" && rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: got status %d, want 401", req.Method, target, rec.Code)
		}
		h.checkResponse(t, req, response{status: rec.Code, header: rec.Header(), body: b})
	})
}

// FuzzAppHandler sends arbitrary requests to the /v1/app endpoints of a
// control plane with an app, and checks every answer is one the document
// lists. Followed logs are left out: they stream until the client goes.
func FuzzAppHandler(f *testing.F) {
	h, _ := newAppHarness(f)
	f.Add(byte(0), "/v1/app/processes", "")
	f.Add(byte(0), "/v1/app/events?since=2026-11-26T03:01:00Z", "")
	f.Add(byte(0), "/v1/app/logs/orders?tail=2", "")
	f.Add(byte(0), "/v1/app/logs/orders-1.sidecar?tail=x", "")
	f.Add(byte(1), "/v1/app/scale", `{"service":"orders","replicas":3}`)
	f.Add(byte(1), "/v1/app/restart", `{"service":"orders","x":1}`)
	f.Add(byte(1), "/v1/app/stop", `{"instance":"orders-2"}`)
	f.Fuzz(func(t *testing.T, method byte, target, body string) {
		req, err := http.NewRequestWithContext(t.Context(), fuzzMethods[int(method)%len(fuzzMethods)], "http://pylon.test"+target, strings.NewReader(body))
		if err != nil || !strings.HasPrefix(req.URL.Path, "/") || req.URL.Query().Has("watch") || req.URL.Path == "/v1/certs/rotate" {
			return
		}
		if follow, _ := strconv.ParseBool(req.URL.Query().Get("follow")); follow {
			return
		}
		req.Header.Set("Authorization", "Bearer "+h.admin)
		rec := httptest.NewRecorder()
		h.api.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Result().Body)
		h.checkResponse(t, req, response{status: rec.Code, header: rec.Header(), body: b})
	})
}
