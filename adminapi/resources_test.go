package adminapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/resource"
)

const (
	ordersService = "name: orders\nendpoints: [127.0.0.1:9001]\n"
	ordersRoute   = "name: orders\nmatch:\n  path: { prefix: /orders }\nservice: orders\n"
)

func etagOf(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

func TestResourceLifecycle(t *testing.T) {
	h := newHarness(t)

	resp := h.do(t, "POST", "/v1/services", ordersService)
	want(t, resp, http.StatusCreated, "")
	var created resource.Outcome
	decode(t, resp, &created)
	if diff := cmp.Diff(resource.Outcome{Kind: "service", Name: "orders", Action: resource.Created}, created, cmpopts.IgnoreFields(resource.Outcome{}, "Version", "Diff")); diff != "" {
		t.Errorf("create outcome (-want +got):\n%s", diff)
	}
	v1 := resp.header.Get("ETag")
	if diff := cmp.Diff(etagOf(created.Version), v1); diff != "" || created.Version <= 0 {
		t.Fatalf("create ETag (-want +got), version %d:\n%s", created.Version, diff)
	}

	resp = h.do(t, "GET", "/v1/services/orders", "")
	want(t, resp, http.StatusOK, "")
	var got adminapi.Resource
	decode(t, resp, &got)
	if diff := cmp.Diff(v1, resp.header.Get("ETag")); diff != "" {
		t.Errorf("GET ETag (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([3]any{"service", "orders", etagOf(got.Version)}, [3]any{got.Kind, got.Name, v1}); diff != "" {
		t.Errorf("GET resource (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(got.Spec), `"127.0.0.1:9001"`) {
		t.Errorf("got spec %s, want it to hold the endpoint", got.Spec)
	}

	updated := "name: orders\nendpoints: [127.0.0.1:9001, 127.0.0.1:9002]\n"
	resp = h.do(t, "PUT", "/v1/services/orders", updated, "If-Match", v1)
	want(t, resp, http.StatusOK, "")
	var up resource.Outcome
	decode(t, resp, &up)
	if up.Action != resource.Updated || up.Version <= created.Version || !strings.Contains(up.Diff, "127.0.0.1:9002") {
		t.Errorf("got update outcome %+v, want updated at a later version with a diff naming the new endpoint", up)
	}
	if diff := cmp.Diff(etagOf(up.Version), resp.header.Get("ETag")); diff != "" {
		t.Errorf("PUT ETag (-want +got):\n%s", diff)
	}

	resp = h.do(t, "PUT", "/v1/services/orders", ordersService, "If-Match", v1)
	want(t, resp, http.StatusPreconditionFailed, "version_mismatch")

	resp = h.do(t, "PUT", "/v1/services/orders", updated)
	want(t, resp, http.StatusOK, "")
	decode(t, resp, &up)
	if diff := cmp.Diff(resource.Unchanged, up.Action); diff != "" {
		t.Errorf("PUT of the same spec: action (-want +got):\n%s", diff)
	}

	want(t, h.do(t, "POST", "/v1/services", ordersService), http.StatusConflict, "already_exists")
	want(t, h.do(t, "PUT", "/v1/services/orders", ordersService, "If-None-Match", "*"), http.StatusConflict, "already_exists")

	want(t, h.do(t, "POST", "/v1/routes", ordersRoute), http.StatusCreated, "")
	resp = h.do(t, "DELETE", "/v1/services/orders", "")
	want(t, resp, http.StatusUnprocessableEntity, "invalid_config")
	e := decodeError(t, resp)
	if len(e.Details) == 0 || e.Details[0].Resource != "route/orders" || e.Details[0].Path != "service" {
		t.Errorf("got details %+v, want one naming route/orders at path service", e.Details)
	}

	want(t, h.do(t, "DELETE", "/v1/routes/orders", ""), http.StatusOK, "")
	resp = h.do(t, "DELETE", "/v1/services/orders", "")
	want(t, resp, http.StatusOK, "")
	var del resource.Outcome
	decode(t, resp, &del)
	if diff := cmp.Diff(resource.Deleted, del.Action); diff != "" {
		t.Errorf("DELETE action (-want +got):\n%s", diff)
	}
	want(t, h.do(t, "GET", "/v1/services/orders", ""), http.StatusNotFound, "not_found")
	want(t, h.do(t, "DELETE", "/v1/services/orders", ""), http.StatusNotFound, "not_found")
}

func TestResourceErrors(t *testing.T) {
	h := newHarness(t)
	want(t, h.do(t, "POST", "/v1/services", ordersService), http.StatusCreated, "")
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		headers     []string
		wantStatus  int
		wantCode    string
		wantDetails []string // substrings, one per detail, in order
	}{
		{name: "unknown kind list", method: "GET", path: "/v1/widgets", wantStatus: 404, wantCode: "not_found"},
		{name: "unknown kind get", method: "GET", path: "/v1/widgets/orders", wantStatus: 404, wantCode: "not_found"},
		{name: "singular kind", method: "POST", path: "/v1/service", body: "name: users\nendpoints: [127.0.0.1:1]\n", wantStatus: 404, wantCode: "not_found"},
		{name: "unknown kind delete", method: "DELETE", path: "/v1/widgets/orders", wantStatus: 404, wantCode: "not_found"},
		{name: "no such resource", method: "GET", path: "/v1/routes/orders", wantStatus: 404, wantCode: "not_found"},
		{name: "no such API path", method: "GET", path: "/v2/services", wantStatus: 404, wantCode: "not_found"},
		{name: "body names another resource", method: "PUT", path: "/v1/services/users", body: ordersService, wantStatus: 400, wantCode: "bad_request"},
		{name: "If-Match not a version", method: "PUT", path: "/v1/services/orders", body: ordersService, headers: []string{"If-Match", "yesterday"}, wantStatus: 400, wantCode: "bad_request"},
		{name: "If-Match on a missing resource", method: "PUT", path: "/v1/services/users", body: "name: users\nendpoints: [127.0.0.1:1]\n", headers: []string{"If-Match", `"7"`}, wantStatus: 404, wantCode: "not_found"},
		{name: "stale If-Match on delete", method: "DELETE", path: "/v1/services/orders", headers: []string{"If-Match", `"1"`}, wantStatus: 412, wantCode: "version_mismatch"},
		{
			name: "malformed YAML", method: "POST", path: "/v1/services", body: "name: orders\nendpoints: [127.0.0.1:9001\n",
			wantStatus: 422, wantCode: "invalid_config", wantDetails: []string{"body:1: did not find expected"},
		},
		{
			name: "unknown and invalid fields", method: "POST", path: "/v1/services", body: "name: users\nendpoints: [127.0.0.1:1]\nprotocl: h2c\nbalancer: fastest\n",
			wantStatus: 422, wantCode: "invalid_config", wantDetails: []string{"body:3:1: protocl: unknown field", "body:4:1: balancer: \"fastest\" is not valid"},
		},
		{
			name: "route to a missing service", method: "POST", path: "/v1/routes", body: "name: users\nservice: users\n",
			wantStatus: 422, wantCode: "invalid_config", wantDetails: []string{`unknown service "users"`},
		},
		{name: "not a mapping", method: "POST", path: "/v1/services", body: "[1, 2]", wantStatus: 422, wantCode: "invalid_config", wantDetails: []string{"body:1:1: expected a mapping"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(t, tc.method, tc.path, tc.body, tc.headers...)
			want(t, resp, tc.wantStatus, tc.wantCode)
			e := decodeError(t, resp)
			if len(e.Details) != len(tc.wantDetails) {
				t.Fatalf("got details %+v, want %d containing %q", e.Details, len(tc.wantDetails), tc.wantDetails)
			}
			for i, d := range e.Details {
				if !strings.Contains(d.String(), tc.wantDetails[i]) {
					t.Errorf("got detail %d %q, want it to contain %q", i, d.String(), tc.wantDetails[i])
				}
			}
		})
	}
	// None of the refused writes changed anything.
	resp := h.do(t, "GET", "/v1/services", "")
	var list adminapi.List
	decode(t, resp, &list)
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if diff := cmp.Diff([]string{"orders"}, names); diff != "" {
		t.Errorf("services after refused writes (-want +got):\n%s", diff)
	}
}

func TestResourceDryRun(t *testing.T) {
	h := newHarness(t)
	resp := h.do(t, "POST", "/v1/services?dry_run=true", ordersService)
	want(t, resp, http.StatusCreated, "")
	var out resource.Outcome
	decode(t, resp, &out)
	if out.Action != resource.Created || !strings.Contains(out.Diff, "+ name: orders") {
		t.Errorf("got dry-run outcome %+v, want created with a diff adding it", out)
	}
	want(t, h.do(t, "GET", "/v1/services/orders", ""), http.StatusNotFound, "not_found")

	want(t, h.do(t, "POST", "/v1/services", ordersService), http.StatusCreated, "")
	want(t, h.do(t, "DELETE", "/v1/services/orders?dry_run=1", ""), http.StatusOK, "")
	want(t, h.do(t, "GET", "/v1/services/orders", ""), http.StatusOK, "")
}

func TestListResources(t *testing.T) {
	h := newHarness(t)
	var empty adminapi.List
	decode(t, h.do(t, "GET", "/v1/listeners", ""), &empty)
	if empty.Items == nil || len(empty.Items) != 0 || empty.Revision <= 0 {
		t.Errorf("got %+v, want an empty (not null) list at a positive revision", empty)
	}
	for _, name := range []string{"b", "a", "c"} {
		want(t, h.do(t, "POST", "/v1/services", "name: "+name+"\nendpoints: [127.0.0.1:1]\n"), http.StatusCreated, "")
	}
	var list adminapi.List
	decode(t, h.do(t, "GET", "/v1/services", ""), &list)
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if diff := cmp.Diff([]string{"b", "a", "c"}, names); diff != "" {
		t.Errorf("services in creation order (-want +got):\n%s", diff)
	}
}
