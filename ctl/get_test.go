package ctl

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/registry"
	"go.yaml.in/yaml/v3"
)

// fields splits a table into the fields of each line.
func fields(table string) [][]string {
	var out [][]string
	for line := range strings.SplitSeq(strings.TrimSuffix(table, "\n"), "\n") {
		out = append(out, strings.Fields(line))
	}
	return out
}

// versionOf reads the version of one config resource.
func versionOf(t *testing.T, s *testServer, kind, name string) string {
	t.Helper()
	var r struct{ Version json.Number }
	if err := json.Unmarshal([]byte(must(t, s.ctl(t, "get", kind, name, "-o", "json")).Stdout), &r); err != nil {
		t.Fatal(err)
	}
	return r.Version.String()
}

func TestGetTables(t *testing.T) {
	s := newServer(t)
	must(t, s.ctl(t, "apply", "-f", exampleConfig))
	v := versionOf(t, s, "service", "orders")
	in, err := s.Registry.Register(context.Background(), registry.Instance{ID: "orders-1", Service: "orders", Address: "127.0.0.1:9001", TTL: config.Duration(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return in.Registered.Add(5 * time.Minute) }
	tests := []struct {
		args []string
		want [][]string
	}{
		{[]string{"get", "services"}, [][]string{{"NAME", "PROTOCOL", "BALANCER", "ENDPOINTS", "VERSION"}, {"orders", "http1", "round_robin", "127.0.0.1:9001,127.0.0.1:9002", v}}},
		{[]string{"get", "svc", "orders"}, [][]string{{"NAME", "PROTOCOL", "BALANCER", "ENDPOINTS", "VERSION"}, {"orders", "http1", "round_robin", "127.0.0.1:9001,127.0.0.1:9002", v}}},
		{[]string{"get", "routes"}, [][]string{{"NAME", "MATCH", "SERVICE", "VERSION"}, {"orders", "prefix=/orders", "orders", v}}},
		{[]string{"get", "listener", "web"}, [][]string{{"NAME", "ADDRESS", "TLS", "VERSION"}, {"web", "127.0.0.1:8080", "no", v}}},
		{[]string{"get", "instances"}, [][]string{{"SERVICE", "ID", "ADDRESS", "HEALTH", "AGE"}, {"orders", "orders-1", "127.0.0.1:9001", "unknown", "5m"}}},
		{[]string{"get", "instances", "orders"}, [][]string{{"SERVICE", "ID", "ADDRESS", "HEALTH", "AGE"}, {"orders", "orders-1", "127.0.0.1:9001", "unknown", "5m"}}},
		{[]string{"nodes"}, [][]string{{"ID", "KIND", "IDENTITY", "ACKED", "NACKED"}, {"gw-1", "gateway", "spiffe://pylon.local/ns/default/svc/edge", "7", "-"}}},
		{[]string{"get", "node", "gw-1"}, [][]string{{"ID", "KIND", "IDENTITY", "ACKED", "NACKED"}, {"gw-1", "gateway", "spiffe://pylon.local/ns/default/svc/edge", "7", "-"}}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := must(t, s.ctl(t, tc.args...))
			if diff := cmp.Diff(tc.want, fields(r.Stdout)); diff != "" {
				t.Errorf("table (-want +got):\n%s\n%s", diff, r.Stdout)
			}
		})
	}
}

func TestCerts(t *testing.T) {
	s := newServer(t)
	r := must(t, s.ctl(t, "certs"))
	got := fields(r.Stdout)
	if len(got) != 2 || len(got[1]) != 9 || got[1][5] != "yes" || got[1][6] != "active" || got[1][1] != "1" {
		t.Errorf("got certs table %q, want a header and root 1, current and active", got)
	}
	r = must(t, s.ctl(t, "certs", "rotate"))
	got = fields(r.Stdout)
	current := [][]string{}
	for _, row := range got[1:] {
		current = append(current, []string{row[1], row[5], row[6]})
	}
	if diff := cmp.Diff([][]string{{"2", "yes", "active"}, {"1", "no", "retiring"}}, current); diff != "" {
		t.Errorf("roots after rotate (-want +got):\n%s\n%s", diff, r.Stdout)
	}
	r = must(t, s.ctl(t, "get", "certs", "-o", "json"))
	var certs struct {
		Pin   string
		Roots []struct{ Subject string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &certs); err != nil {
		t.Fatalf("parse certs -o json: %v", err)
	}
	if certs.Pin != "test-pin" || len(certs.Roots) != 2 {
		t.Errorf("got %+v, want the pin and two roots", certs)
	}
	if r := s.ctl(t, "certs", "frob"); r.Code != ExitUsage {
		t.Errorf("got exit %d for certs frob, want 2", r.Code)
	}
}

func TestGetYAML(t *testing.T) {
	s := newServer(t)
	must(t, s.ctl(t, "apply", "-f", exampleConfig))
	jsonOut := must(t, s.ctl(t, "get", "services", "-o", "json")).Stdout
	yamlOut := must(t, s.ctl(t, "get", "services", "-o", "yaml")).Stdout
	var fromJSON, fromYAML services
	if err := json.Unmarshal([]byte(jsonOut), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(yamlOut), &fromYAML); err != nil {
		t.Fatalf("parse -o yaml: %v\n%s", err, yamlOut)
	}
	if diff := cmp.Diff(fromJSON, fromYAML); diff != "" || len(fromYAML.Items) != 1 {
		t.Errorf("-o yaml differs from -o json (-json +yaml):\n%s", diff)
	}
}

func TestDescribe(t *testing.T) {
	s := newServer(t)
	must(t, s.ctl(t, "apply", "-f", exampleConfig))
	v := versionOf(t, s, "service", "orders")
	r := must(t, s.ctl(t, "describe", "service", "orders"))
	head := "Kind:     service\nName:     orders\nVersion:  " + v + "\nSpec:\n  name: orders\n  endpoints:\n    - address: 127.0.0.1:9001\n"
	if !strings.HasPrefix(r.Stdout, head) || !strings.HasSuffix(r.Stdout, "Instances: <none>\n") {
		t.Errorf("got describe:\n%s\nwant it to start:\n%s\nand end with no instances", r.Stdout, head)
	}

	in, err := s.Registry.Register(context.Background(), registry.Instance{ID: "orders-1", Service: "orders", Address: "127.0.0.1:9001", Health: registry.Healthy})
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return in.Registered.Add(3 * time.Hour) }
	r = must(t, s.ctl(t, "describe", "svc", "orders"))
	_, tail, _ := strings.Cut(r.Stdout, "Instances:\n")
	if diff := cmp.Diff([][]string{{"SERVICE", "ID", "ADDRESS", "HEALTH", "AGE"}, {"orders", "orders-1", "127.0.0.1:9001", "healthy", "3h"}}, fields(tail)); diff != "" {
		t.Errorf("describe's instances (-want +got):\n%s\n%s", diff, r.Stdout)
	}

	r = must(t, s.ctl(t, "describe", "route", "orders"))
	if strings.Contains(r.Stdout, "Instances") || !strings.Contains(r.Stdout, "  service: orders\n") {
		t.Errorf("got describe route:\n%s\nwant its spec and no instances", r.Stdout)
	}

	r = must(t, s.ctl(t, "describe", "service", "orders", "-o", "json"))
	var d struct {
		Resource  struct{ Name string }
		Instances []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil {
		t.Fatalf("parse describe -o json: %v\n%s", err, r.Stdout)
	}
	if d.Resource.Name != "orders" || len(d.Instances) != 1 || d.Instances[0].ID != "orders-1" {
		t.Errorf("got %+v, want orders and its instance", d)
	}
	if r := s.ctl(t, "describe", "service", "nope"); r.Code != ExitFailed || !strings.HasPrefix(r.Stderr, "error: not_found: ") {
		t.Errorf("got exit %d, stderr %q, want 1 and not_found", r.Code, r.Stderr)
	}
}

func TestDelete(t *testing.T) {
	s := newServer(t)
	must(t, s.ctl(t, "apply", "-f", exampleConfig))
	for _, args := range [][]string{{"delete", "route", "orders"}, {"delete", "services", "orders"}} {
		r := must(t, s.ctl(t, args...))
		want := strings.TrimSuffix(args[1], "s") + "/orders deleted\n"
		if diff := cmp.Diff(want, r.Stdout); diff != "" {
			t.Errorf("%v stdout (-want +got):\n%s", args, diff)
		}
	}
	if r := s.ctl(t, "get", "route", "orders"); r.Code != ExitFailed || !strings.HasPrefix(r.Stderr, "error: not_found: ") {
		t.Errorf("got exit %d, stderr %q for a deleted route, want 1 and not_found", r.Code, r.Stderr)
	}
	r := must(t, s.ctl(t, "get", "listeners", "-o", "json"))
	if !strings.Contains(r.Stdout, `"web"`) {
		t.Errorf("got listeners %s, want web still there", r.Stdout)
	}
}

// BenchmarkServicesTable renders the table of 1000 services.
func BenchmarkServicesTable(b *testing.B) {
	items := make([]json.RawMessage, 1000)
	for i := range items {
		items[i] = json.RawMessage(`{"kind":"service","name":"svc-` + strings.Repeat("x", i%20) + `","version":42,"spec":{"name":"s","protocol":"http1","balancer":"round_robin","endpoints":[{"address":"10.0.0.1:80","weight":1},{"address":"10.0.0.2:80","weight":1}],"health":{"panic_threshold":50}}}`)
	}
	k, _ := kindOf("services")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := writeTable(io.Discard, k, items, now); err != nil {
			b.Fatal(err)
		}
	}
}
