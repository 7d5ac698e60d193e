package adminapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/registry"
)

type instanceList struct {
	Items []registry.Instance `json:"items"`
}

func ids(l instanceList) []string {
	var out []string
	for _, in := range l.Items {
		out = append(out, in.Service+"/"+in.ID)
	}
	return out
}

func TestInstances(t *testing.T) {
	h := newHarness(t)
	resp := h.do(t, "POST", "/v1/instances", `{"id":"i1","service":"orders","address":"127.0.0.1:9001","ttl":"30s","labels":{"zone":"a"}}`)
	want(t, resp, http.StatusCreated, "")
	var got registry.Instance
	decode(t, resp, &got)
	wantIn := registry.Instance{ID: "i1", Service: "orders", Namespace: "default", Address: "127.0.0.1:9001",
		Labels: map[string]string{"zone": "a"}, Health: registry.Unknown, TTL: config.Duration(30 * time.Second)}
	ignore := cmpopts.IgnoreFields(registry.Instance{}, "Lease", "Registered")
	if diff := cmp.Diff(wantIn, got, ignore); diff != "" {
		t.Errorf("registered instance (-want +got):\n%s", diff)
	}
	if got.Lease == 0 || got.Registered.IsZero() {
		t.Errorf("got lease %d, registered %v; want both set", got.Lease, got.Registered)
	}
	want(t, h.do(t, "POST", "/v1/instances", `{"id":"u1","service":"users","address":"10.0.0.1:80"}`), http.StatusCreated, "")

	resp = h.do(t, "PUT", "/v1/instances/orders/i1/heartbeat", `{"health":"healthy"}`)
	want(t, resp, http.StatusOK, "")
	decode(t, resp, &got)
	wantIn.Health = registry.Healthy
	if diff := cmp.Diff(wantIn, got, ignore); diff != "" {
		t.Errorf("instance after a heartbeat (-want +got):\n%s", diff)
	}
	want(t, h.do(t, "PUT", "/v1/instances/orders/i1/heartbeat", ""), http.StatusOK, "")

	decode(t, h.do(t, "GET", "/v1/instances/orders/i1", ""), &got)
	if diff := cmp.Diff(wantIn, got, ignore); diff != "" {
		t.Errorf("GET instance (-want +got):\n%s", diff)
	}

	var list instanceList
	decode(t, h.do(t, "GET", "/v1/instances?service=orders", ""), &list)
	if diff := cmp.Diff([]string{"orders/i1"}, ids(list)); diff != "" {
		t.Errorf("instances of orders (-want +got):\n%s", diff)
	}
	decode(t, h.do(t, "GET", "/v1/instances", ""), &list)
	if diff := cmp.Diff([]string{"orders/i1", "users/u1"}, ids(list)); diff != "" {
		t.Errorf("every instance (-want +got):\n%s", diff)
	}

	want(t, h.do(t, "DELETE", "/v1/instances/orders/i1", ""), http.StatusNoContent, "")
	want(t, h.do(t, "PUT", "/v1/instances/orders/i1/heartbeat", ""), http.StatusNotFound, "not_found")
	want(t, h.do(t, "GET", "/v1/instances/orders/i1", ""), http.StatusNotFound, "not_found")
	want(t, h.do(t, "DELETE", "/v1/instances/orders/i1", ""), http.StatusNotFound, "not_found")
	resp = h.do(t, "GET", "/v1/instances?service=orders", "")
	if diff := cmp.Diff("{\n  \"items\": []\n}\n", string(resp.body)); diff != "" {
		t.Errorf("instances of orders after deregistering (-want +got):\n%s", diff)
	}
}

func TestInstanceBadRequests(t *testing.T) {
	h := newHarness(t)
	want(t, h.do(t, "POST", "/v1/instances", `{"id":"i1","service":"orders","address":"127.0.0.1:9001"}`), http.StatusCreated, "")
	tests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"no id", "POST", "/v1/instances", `{"service":"orders","address":"127.0.0.1:9001"}`},
		{"bad address", "POST", "/v1/instances", `{"id":"i2","service":"orders","address":"127.0.0.1"}`},
		{"bad health", "POST", "/v1/instances", `{"id":"i2","service":"orders","address":"127.0.0.1:1","health":"fine"}`},
		{"ttl too long", "POST", "/v1/instances", `{"id":"i2","service":"orders","address":"127.0.0.1:1","ttl":"1h"}`},
		{"ttl as a number", "POST", "/v1/instances", `{"id":"i2","service":"orders","address":"127.0.0.1:1","ttl":10}`},
		{"unknown field", "POST", "/v1/instances", `{"id":"i2","service":"orders","address":"127.0.0.1:1","weight":3}`},
		{"heartbeat with bad health", "PUT", "/v1/instances/orders/i1/heartbeat", `{"health":"fine"}`},
		{"heartbeat with unknown field", "PUT", "/v1/instances/orders/i1/heartbeat", `{"status":"healthy"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want(t, h.do(t, tc.method, tc.path, tc.body), http.StatusBadRequest, "bad_request")
		})
	}
	var got registry.Instance
	decode(t, h.do(t, "GET", "/v1/instances/orders/i1", ""), &got)
	if got.Health != registry.Unknown {
		t.Errorf("got health %q after refused heartbeats, want %q", got.Health, registry.Unknown)
	}
}
