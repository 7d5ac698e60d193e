package adminapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/resource"
)

// outcomes reduces an apply result to "kind/name action" lines.
func outcomes(r adminapi.ApplyResult) []string {
	out := make([]string, len(r.Outcomes))
	for i, o := range r.Outcomes {
		out[i] = o.Kind + "/" + o.Name + " " + o.Action
	}
	return out
}

func TestApplyExample(t *testing.T) {
	example := string(readFile(t, "../examples/gateway/pylon.yaml"))
	tests := []struct {
		name      string
		query     string
		wantDry   bool
		wantSteps []string
		wantDiff  bool
	}{
		{"dry run on an empty store", "?dry_run=true", true, []string{"listener/web created", "service/orders created", "route/orders created"}, true},
		{"first apply", "", false, []string{"listener/web created", "service/orders created", "route/orders created"}, true},
		{"apply again", "", false, []string{"listener/web unchanged", "service/orders unchanged", "route/orders unchanged"}, false},
		{"dry run of the same", "?dry_run=1", true, []string{"listener/web unchanged", "service/orders unchanged", "route/orders unchanged"}, false},
	}
	h := newHarness(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.do(t, "GET", "/v1/routes", "")
			resp := h.do(t, "POST", "/v1/apply"+tc.query, example)
			want(t, resp, http.StatusOK, "")
			var got adminapi.ApplyResult
			decode(t, resp, &got)
			if diff := cmp.Diff(tc.wantSteps, outcomes(got)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if got.DryRun != tc.wantDry {
				t.Errorf("got dry_run %v, want %v", got.DryRun, tc.wantDry)
			}
			for _, o := range got.Outcomes {
				if hasDiff := o.Diff != ""; hasDiff != tc.wantDiff {
					t.Errorf("%s/%s: got diff %q, want one: %v", o.Kind, o.Name, o.Diff, tc.wantDiff)
				}
			}
			if len(got.Notes) != 1 || !strings.HasPrefix(got.Notes[0], "admin ") {
				t.Errorf("got notes %q, want one about the per-gateway admin setting", got.Notes)
			}
			if tc.wantDry {
				after := h.do(t, "GET", "/v1/routes", "")
				if diff := cmp.Diff(string(before.body), string(after.body)); diff != "" {
					t.Errorf("a dry run changed the stored routes (-before +after):\n%s", diff)
				}
			}
		})
	}
	var list adminapi.List
	decode(t, h.do(t, "GET", "/v1/services", ""), &list)
	if len(list.Items) != 1 || !strings.Contains(string(list.Items[0].Spec), "127.0.0.1:9002") {
		t.Errorf("got services %+v, want the example's orders", list.Items)
	}
}

func TestApplyUpdatesAndRefuses(t *testing.T) {
	h := newHarness(t)
	example := string(readFile(t, "../examples/gateway/pylon.yaml"))
	want(t, h.do(t, "POST", "/v1/apply", example), http.StatusOK, "")

	changed := strings.Replace(example, "127.0.0.1:9002", "127.0.0.1:9003", 1)
	resp := h.do(t, "POST", "/v1/apply?dry_run=true", changed)
	want(t, resp, http.StatusOK, "")
	var got adminapi.ApplyResult
	decode(t, resp, &got)
	svc := got.Outcomes[1] // listeners, then services
	if svc.Action != resource.Updated || !strings.Contains(svc.Diff, "-     - address: 127.0.0.1:9002") || !strings.Contains(svc.Diff, "+     - address: 127.0.0.1:9003") {
		t.Errorf("got service outcome %+v, want updated with a diff swapping the endpoint", svc)
	}

	tests := []struct {
		name       string
		query      string
		body       string
		wantDetail string
	}{
		{"route to a missing service", "", "routes:\n  - name: users\n    service: users\n", `unknown service "users"`},
		{"syntax error names the file", "?filename=ops.yaml", "routes:\n  - name: [\n", "ops.yaml:"},
		{"unknown top-level field", "", "servces: []\n", "servces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(t, "POST", "/v1/apply"+tc.query, tc.body)
			want(t, resp, http.StatusUnprocessableEntity, "invalid_config")
			e := decodeError(t, resp)
			if len(e.Details) == 0 || !strings.Contains(e.Details[0].String(), tc.wantDetail) {
				t.Errorf("got details %+v, want the first to contain %q", e.Details, tc.wantDetail)
			}
		})
	}
}

func TestApplyTooLarge(t *testing.T) {
	h := newHarness(t)
	var doc strings.Builder
	doc.WriteString("services:\n")
	for i := range resource.MaxChanges + 1 {
		fmt.Fprintf(&doc, "  - name: s%d\n    endpoints: [127.0.0.1:1]\n", i)
	}
	resp := h.do(t, "POST", "/v1/apply?dry_run=true", doc.String())
	want(t, resp, http.StatusOK, "")
	want(t, h.do(t, "POST", "/v1/apply", doc.String()), http.StatusRequestEntityTooLarge, "too_large")
	var list adminapi.List
	decode(t, h.do(t, "GET", "/v1/services", ""), &list)
	if len(list.Items) != 0 {
		t.Errorf("got %d services after a refused apply, want none", len(list.Items))
	}
}
