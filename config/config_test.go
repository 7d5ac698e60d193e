package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestValidateBuiltInGo(t *testing.T) {
	c := &Config{
		Listeners: []Listener{{Name: "web", Address: "127.0.0.1:8080"}},
		Routes:    []Route{{Name: "orders", Service: "missing"}},
		Services:  []Service{{Name: "orders", Endpoints: []Endpoint{{Address: "127.0.0.1:9001"}}}},
	}
	c.SetDefaults()
	want := []string{`routes[0].service: unknown service "missing"; defined: orders`}
	if diff := cmp.Diff(want, errLines(t, c.Validate())); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	c.Routes[0].Service = "orders"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: got %v, want nil", err)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		in   FieldError
		want string
	}{
		{FieldError{File: "pylon.yaml", Line: 12, Column: 7, Path: "routes[0].match.path.prefix", Msg: `must start with "/"`},
			`pylon.yaml:12:7: routes[0].match.path.prefix: must start with "/"`},
		{FieldError{File: "pylon.yaml", Line: 3, Msg: "bad syntax"}, "pylon.yaml:3: bad syntax"},
		{FieldError{File: "pylon.yaml", Path: "routes", Msg: "required"}, "pylon.yaml: routes: required"},
		{FieldError{Line: 2, Column: 1, Path: "a", Msg: "m"}, "2:1: a: m"},
		{FieldError{Path: "a", Msg: "m"}, "a: m"},
	}
	for _, tc := range tests {
		if got := tc.in.Error(); got != tc.want {
			t.Errorf("Error(): got %q, want %q", got, tc.want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{"1048576", 1 << 20, false},
		{"512B", 512, false},
		{"64KiB", 64 << 10, false},
		{"10MiB", 10 << 20, false},
		{"1GiB", 1 << 30, false},
		{"2TiB", 2 << 40, false},
		{"5KB", 5000, false},
		{"3MB", 3e6, false},
		{"1GB", 1e9, false},
		{"1 MiB", 1 << 20, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"-1", 0, true},
		{"1.5MiB", 0, true},
		{"1XB", 0, true},
		{"9999999TiB", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseByteSize(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseByteSize(%q): got %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(dur("1m30s"))
	if err != nil {
		t.Fatal(err)
	}
	var d Duration
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if string(b) != `"1m30s"` || d != dur("90s") {
		t.Errorf("JSON round trip: got %s and %v, want \"1m30s\" and 1m30s", b, d)
	}
	if err := json.Unmarshal([]byte(`5`), &d); err == nil {
		t.Errorf("Unmarshal(5): got nil error, want one")
	}
}

func TestRedacted(t *testing.T) {
	in := snippet{route: "{name: orders, service: orders, match: {headers: [{name: Authorization, exact: Bearer s3cret}, {name: x-env, exact: canary}, {name: x-api-key, regex: \"^k\"}]}, " +
		"request_headers: {set: {authorization: Bearer up, x-trace: on}, add: {Cookie: a=b}}, response_headers: {add: {x-token: t}}}"}
	c, err := Parse("f.yaml", []byte(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	before, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	got := []any{r.Routes[0].Match.Headers, r.Routes[0].RequestHeaders, r.Routes[0].ResponseHeaders}
	want := []any{
		[]ValueMatch{{Name: "Authorization", Exact: "REDACTED"}, {Name: "x-env", Exact: "canary"}, {Name: "x-api-key", Regex: "REDACTED"}},
		HeaderOps{Set: map[string]string{"authorization": "REDACTED", "x-trace": "on"}, Add: map[string]string{"Cookie": "REDACTED"}},
		HeaderOps{Add: map[string]string{"x-token": "REDACTED"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redacted (-want +got):\n%s", diff)
	}
	after, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("Redacted changed the original (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(c.pos, r.pos, cmp.AllowUnexported(pos{})); diff != "" {
		t.Errorf("Redacted positions (-want +got):\n%s", diff)
	}
}

// TestRedactedSharesNothing checks, on a config where every pointer, slice
// and map is set, that the copy shares none of them, so fields added later
// are deep-copied too.
func TestRedactedSharesNothing(t *testing.T) {
	hdr := HeaderOps{Add: map[string]string{"a": "b"}, Set: map[string]string{"a": "b"}, Remove: []string{"c"}}
	c := &Config{
		TrustedProxies: []string{"10.0.0.0/8"},
		Listeners:      []Listener{{Name: "web", TLS: &ListenerTLS{Certificates: []Certificate{{Cert: "c", Key: "k"}}}}},
		Routes: []Route{{
			Listeners: []string{"web"}, Split: []SplitEntry{{Service: "a"}},
			Match: Match{Hosts: []string{"a"}, Methods: []string{"GET"},
				Headers: []ValueMatch{{Name: "a"}}, Query: []ValueMatch{{Name: "q"}}},
			Retries:        Retries{On: []string{"reset"}},
			RequestHeaders: hdr, ResponseHeaders: hdr,
			Policies: []string{"p"},
		}},
		Services: []Service{{
			Endpoints: []Endpoint{{Address: "a:1"}}, TLS: &UpstreamTLS{}, HashOn: &HashOn{},
			Calls:  &MeshCalls{Retries: Retries{On: []string{"reset"}}},
			Health: Health{Active: &ActiveHealth{HTTP: &HTTPCheck{ExpectedStatuses: []int{200}}, GRPC: &GRPCCheck{}, TCP: &TCPCheck{}}},
		}},
		AuthorizationPolicies: []AuthorizationPolicy{{
			From: []PolicySource{{Identities: []string{"spiffe://td/a"}, Namespaces: []string{"n"}, Services: []string{"s"}}},
			To:   []PolicyTarget{{Methods: []string{"GET"}, Paths: []PathMatch{{Prefix: "/"}}, Headers: []ValueMatch{{Name: "h"}}}},
		}},
		Policies: []Policy{{
			Authentication: &Authentication{APIKey: &APIKeyAuth{}, JWT: &JWTAuth{Audiences: []string{"a"}, Algorithms: []string{"ES256"}}},
			AllowConsumers: []string{"c"}, RateLimit: &RateLimit{},
		}},
		Consumers: []Consumer{{APIKeys: []string{HashAPIKey("0123456789abcdef")}, RateLimit: &ConsumerLimit{}}},
	}
	r := c.Redacted()
	if diff := cmp.Diff(c, r, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Fatalf("copy differs (-orig +copy):\n%s", diff)
	}
	shared(t, "config", reflect.ValueOf(c).Elem(), reflect.ValueOf(r).Elem())
}

// shared fails for every pointer, slice or map that a and b share, or that
// is nil in a (so the test above must populate new fields).
func shared(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		if a.IsNil() {
			t.Errorf("%s: nil in the test config; populate it", path)
			return
		}
		if a.Kind() != reflect.Map && a.Type().Elem().Size() == 0 {
			break // zero-size values may share an address
		}
		if a.UnsafePointer() == b.UnsafePointer() {
			t.Errorf("%s: shared between the config and its copy", path)
		}
	}
	switch a.Kind() {
	case reflect.Pointer:
		shared(t, path, a.Elem(), b.Elem())
	case reflect.Slice:
		for i := range a.Len() {
			shared(t, path+"[]", a.Index(i), b.Index(i))
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if f := a.Type().Field(i); f.IsExported() {
				shared(t, path+"."+f.Name, a.Field(i), b.Field(i))
			}
		}
	}
}

func TestFieldErrorNamesThePosition(t *testing.T) {
	src := "listeners:\n  - name: web\n    address: 127.0.0.1:8080\nroutes:\n  - name: r\n    service: s\nservices:\n  - name: s\n    endpoints: [127.0.0.1:9]\n"
	c, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := c.FieldError("listeners[0].address", errors.New("address already in use")).Error()
	if want := "p.yaml:3:5: listeners[0].address: address already in use"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
