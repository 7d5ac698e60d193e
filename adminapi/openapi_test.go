package adminapi_test

import (
	"encoding/json"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/jointoken"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/resource"
)

// openapiDoc is the part of openapi.json the tests read.
type openapiDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Security   []map[string][]string                 `json:"security"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
		Schemas map[string]schema `json:"schemas"`
	} `json:"components"`

	raw any
	ops map[string]operation // by "METHOD /path"
	mux *http.ServeMux       // finds the documented pattern of a request
}

type operation struct {
	OperationID string                     `json:"operationId"`
	Security    *[]map[string][]string     `json:"security"`
	Responses   map[string]json.RawMessage `json:"responses"`

	raw map[string]any // the operation object, for schema lookups
}

type schema struct {
	Properties           map[string]json.RawMessage `json:"properties"`
	AdditionalProperties *bool                      `json:"additionalProperties"`
	Enum                 []string                   `json:"enum"`
}

// methods are the operation keys a path item may hold.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadDoc(t testing.TB) *openapiDoc {
	t.Helper()
	b := readFile(t, "openapi.json")
	d := &openapiDoc{ops: map[string]operation{}, mux: http.NewServeMux()}
	if err := json.Unmarshal(b, d); err != nil {
		t.Fatalf("parse openapi.json: %v", err)
	}
	if err := json.Unmarshal(b, &d.raw); err != nil {
		t.Fatalf("parse openapi.json: %v", err)
	}
	for path, item := range d.Paths {
		for _, m := range methods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("parse %s %s: %v", m, path, err)
			}
			pattern := strings.ToUpper(m) + " " + path
			op.raw = d.raw.(map[string]any)["paths"].(map[string]any)[path].(map[string]any)[m].(map[string]any)
			d.ops[pattern] = op
			d.mux.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) {})
		}
	}
	return d
}

// operationFor finds the documented operation a request is answered by.
// A path that is not canonical ("/v1//services") has none: the mux
// redirects it to the canonical one.
func (d *openapiDoc) operationFor(r *http.Request) (operation, bool) {
	if p := path.Clean(r.URL.Path); p != r.URL.Path && p+"/" != r.URL.Path {
		return operation{}, false
	}
	_, pattern := d.mux.Handler(r)
	op, ok := d.ops[pattern]
	return op, ok
}

// documents reports whether the operation lists the status.
func (op operation) documents(status int) bool {
	_, ok := op.Responses[strconv.Itoa(status)]
	return ok
}

func (d *openapiDoc) errorCodes() []string { return d.Components.Schemas["ErrorCode"].Enum }

// muxPatterns reads the patterns Handler registers from api.go, so the
// document is checked against the code itself.
func muxPatterns(t *testing.T) (routes []string, fallbacks []string) {
	t.Helper()
	re := regexp.MustCompile(`mux\.Handle(?:Func)?\("([^"]*)"`)
	for _, m := range re.FindAllStringSubmatch(string(readFile(t, "api.go")), -1) {
		if strings.Contains(m[1], " ") {
			routes = append(routes, m[1])
		} else {
			fallbacks = append(fallbacks, m[1])
		}
	}
	return routes, fallbacks
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	routes, fallbacks := muxPatterns(t)
	if len(routes) < 10 {
		t.Fatalf("got %d patterns from api.go, want the whole route table; has its form changed?", len(routes))
	}
	if diff := cmp.Diff([]string{"/"}, fallbacks); diff != "" {
		t.Errorf("patterns without a method (-want +got):\n%s", diff)
	}
	doc := loadDoc(t)
	var documented []string
	for p := range doc.ops {
		documented = append(documented, p)
	}
	slices.Sort(routes)
	slices.Sort(documented)
	if diff := cmp.Diff(routes, documented); diff != "" {
		t.Errorf("routes in api.go (-) and operations in openapi.json (+) differ:\n%s", diff)
	}
}

func TestOpenAPIIsWellFormed(t *testing.T) {
	doc := loadDoc(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("got openapi %q, want 3.1.x", doc.OpenAPI)
	}
	ids := map[string]string{}
	for pattern, op := range doc.ops {
		if len(op.Responses) == 0 {
			t.Errorf("%s: has no responses", pattern)
		}
		if op.OperationID == "" {
			t.Errorf("%s: has no operationId", pattern)
		} else if other, dup := ids[op.OperationID]; dup {
			t.Errorf("%s: operationId %q is also %s's", pattern, op.OperationID, other)
		}
		ids[op.OperationID] = pattern
		public := op.Security != nil && len(*op.Security) == 0
		if diff := cmp.Diff(pattern == "GET /v1/openapi.json", public); diff != "" {
			t.Errorf("%s: public (-want +got):\n%s", pattern, diff)
		}
		for _, status := range []string{"401", "500", "503"} {
			// Checking the token reads the store, so any secured call
			// can find it down.
			if _, ok := op.Responses[status]; !public && !ok {
				t.Errorf("%s: needs a token but documents no %s", pattern, status)
			}
		}
	}
	if diff := cmp.Diff([]map[string][]string{{"bearerAuth": {}}}, doc.Security); diff != "" {
		t.Errorf("global security (-want +got):\n%s", diff)
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("got bearerAuth %+v, want http bearer", s)
	}
	checkRefs(t, doc.raw, doc.raw, "#")
}

// checkRefs fails on every $ref in v that does not resolve in root.
func checkRefs(t *testing.T, root, v any, at string) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if ref, ok := e.(string); ok && k == "$ref" {
				if _, ok := resolve(root, ref); !ok {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
				continue
			}
			checkRefs(t, root, e, at+"/"+k)
		}
	case []any:
		for i, e := range v {
			checkRefs(t, root, e, at+"/"+strconv.Itoa(i))
		}
	}
}

func resolve(root any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	v := root
	for _, part := range strings.Split(rest, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

func TestOpenAPIErrorCodesAreErrorsGo(t *testing.T) {
	re := regexp.MustCompile(`(?m)^\s*Code\w+\s*=\s*"([a-z_]+)"`)
	var codes []string
	for _, m := range re.FindAllStringSubmatch(string(readFile(t, "errors.go")), -1) {
		codes = append(codes, m[1])
	}
	got := slices.Clone(loadDoc(t).errorCodes())
	slices.Sort(codes)
	slices.Sort(got)
	if len(codes) == 0 {
		t.Fatal("found no Code constants in errors.go")
	}
	if diff := cmp.Diff(codes, got); diff != "" {
		t.Errorf("codes in errors.go (-) and the ErrorCode enum (+) differ:\n%s", diff)
	}
}

// TestOpenAPISchemasMatchTypes checks each schema that describes a Go type
// lists exactly the type's JSON fields, so a schema that refuses other
// properties is right to.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	tests := []struct {
		schema string
		value  any
	}{
		{"Listener", config.Listener{}},
		{"Route", config.Route{}},
		{"Service", config.Service{}},
		{"Policy", config.Policy{}},
		{"RateLimit", config.RateLimit{}},
		{"Consumer", config.Consumer{}},
		{"Resource", adminapi.Resource{}},
		{"List", adminapi.List{}},
		{"WatchEvent", adminapi.WatchEvent{}},
		{"ApplyResult", adminapi.ApplyResult{}},
		{"Outcome", resource.Outcome{}},
		{"Problem", resource.Problem{}},
		{"Instance", registry.Instance{}},
		{"HeartbeatRequest", adminapi.HeartbeatRequest{}},
		{"TokenRequest", adminapi.TokenRequest{}},
		{"TokenCreated", adminapi.TokenCreated{}},
		{"Token", jointoken.Token{}},
		{"Certs", adminapi.Certs{}},
		{"Root", adminapi.Root{}},
		{"ProcessList", adminapi.ProcessList{}},
		{"Process", adminapi.Process{}},
		{"EventList", adminapi.EventList{}},
		{"Event", adminapi.Event{}},
		{"LogLine", adminapi.LogLine{}},
		{"ScaleRequest", adminapi.ScaleRequest{}},
		{"RestartRequest", adminapi.RestartRequest{}},
		{"StopRequest", adminapi.StopRequest{}},
		{"ApplyAppRequest", adminapi.ApplyAppRequest{}},
		{"AppChanges", adminapi.AppChanges{}},
	}
	doc := loadDoc(t)
	for _, tc := range tests {
		t.Run(tc.schema, func(t *testing.T) {
			s, ok := doc.Components.Schemas[tc.schema]
			if !ok {
				t.Fatalf("no schema %s", tc.schema)
			}
			var got []string
			for name := range s.Properties {
				got = append(got, name)
			}
			slices.Sort(got)
			if diff := cmp.Diff(jsonFields(reflect.TypeOf(tc.value)), got); diff != "" {
				t.Errorf("fields of %T (-) and properties of %s (+) differ:\n%s", tc.value, tc.schema, diff)
			}
			if s.AdditionalProperties == nil || *s.AdditionalProperties {
				t.Errorf("%s: got additionalProperties %v, want false (its fields are all known)", tc.schema, s.AdditionalProperties)
			}
		})
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func TestOpenAPIIsServedWithoutToken(t *testing.T) {
	h := newHarness(t)
	resp := h.do(t, "GET", "/v1/openapi.json", "", "Authorization", "")
	want(t, resp, http.StatusOK, "")
	if diff := cmp.Diff("application/json", resp.header.Get("Content-Type")); diff != "" {
		t.Errorf("Content-Type (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(string(readFile(t, "openapi.json")), string(resp.body)); diff != "" {
		t.Errorf("served document (-want +got):\n%s", diff)
	}
}
