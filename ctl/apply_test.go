package ctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// services is the part of GET /v1/services the tests look at.
type services struct {
	Revision int64
	Items    []struct {
		Kind, Name string
		Version    int64
		Spec       struct {
			Name, Protocol, Balancer string
			Endpoints                []struct{ Address string }
		}
	}
}

func TestApplyThenGet(t *testing.T) {
	s := newServer(t)
	r := must(t, s.ctl(t, "apply", "-f", exampleConfig))
	if diff := cmp.Diff("listener/web created\nservice/orders created\nroute/orders created\n", r.Stdout); diff != "" {
		t.Errorf("apply stdout (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(r.Stderr, "note: admin is a per-gateway setting") {
		t.Errorf("got stderr %q, want the server's note about admin", r.Stderr)
	}

	r = must(t, s.ctl(t, "get", "services", "-o", "json"))
	var got services
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("parse get services -o json: %v\n%s", err, r.Stdout)
	}
	if len(got.Items) != 1 {
		t.Fatalf("got %d services, want 1:\n%s", len(got.Items), r.Stdout)
	}
	it := got.Items[0]
	if it.Version <= 0 || it.Version > got.Revision {
		t.Errorf("got version %d at revision %d, want 0 < version <= revision", it.Version, got.Revision)
	}
	want := []string{"service", "orders", "orders", "http1", "round_robin", "127.0.0.1:9001", "127.0.0.1:9002"}
	gotFields := []string{it.Kind, it.Name, it.Spec.Name, it.Spec.Protocol, it.Spec.Balancer}
	for _, e := range it.Spec.Endpoints {
		gotFields = append(gotFields, e.Address)
	}
	if diff := cmp.Diff(want, gotFields); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}

	r = must(t, s.ctl(t, "apply", "-f", exampleConfig))
	if diff := cmp.Diff("listener/web unchanged\nservice/orders unchanged\nroute/orders unchanged\n", r.Stdout); diff != "" {
		t.Errorf("second apply stdout (-want +got):\n%s", diff)
	}
}

func TestApplyDryRun(t *testing.T) {
	s := newServer(t)
	r := must(t, s.ctl(t, "apply", "--dry-run", "-f", exampleConfig))
	for _, line := range []string{"service/orders created (dry run)", "    + name: orders", "    + service: orders", "    + address: 127.0.0.1:8080"} {
		if !hasLine(r.Stdout, line) {
			t.Errorf("got dry-run output without the line %q:\n%s", line, r.Stdout)
		}
	}
	r = must(t, s.ctl(t, "get", "services"))
	if diff := cmp.Diff(result{Stderr: "No services found.\n"}, r); diff != "" {
		t.Errorf("get services after a dry run (-want +got):\n%s", diff)
	}

	must(t, s.ctl(t, "apply", "-f", exampleConfig))
	changed := strings.Replace(readFile(t, exampleConfig), "127.0.0.1:9002", "127.0.0.1:9003", 1)
	r = must(t, run(t, s.env(), changed, "apply", "-f", "-", "--dry-run"))
	for _, line := range []string{"service/orders updated (dry run)", "    -     - address: 127.0.0.1:9002", "    +     - address: 127.0.0.1:9003", "route/orders unchanged (dry run)"} {
		if !hasLine(r.Stdout, line) {
			t.Errorf("got dry-run output without the line %q:\n%s", line, r.Stdout)
		}
	}
	r = must(t, s.ctl(t, "get", "svc", "orders", "-o", "json"))
	if !strings.Contains(r.Stdout, "127.0.0.1:9002") || strings.Contains(r.Stdout, "127.0.0.1:9003") {
		t.Errorf("got the service changed by a dry run:\n%s", r.Stdout)
	}
}

func TestApplyStdin(t *testing.T) {
	s := newServer(t)
	doc := "services:\n  - name: billing\n    endpoints: [127.0.0.1:7001]\n"
	r := must(t, run(t, s.env(), doc, "apply", "-f", "-"))
	if diff := cmp.Diff(result{Stdout: "service/billing created\n"}, r); diff != "" {
		t.Errorf("apply -f - (-want +got):\n%s", diff)
	}
}

func TestApplyInvalid(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name, doc string
		// want are the first lines of stderr; more may follow.
		want []string
	}{
		{
			name: "dangling route",
			doc:  "routes:\n  - name: r\n    match: {path: {prefix: /}}\n    service: missing\n",
			want: []string{"error: invalid_config: invalid config:", `  route/r: service: unknown service "missing"`},
		},
		{
			name: "unknown field",
			doc:  "services:\n  - name: billing\n    endpoints: [127.0.0.1:7001]\n    colour: blue\n",
			want: []string{"error: invalid_config: ", "  stdin:4:5: services[0].colour: unknown field"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, s.env(), tc.doc, "apply", "-f", "-")
			lines := strings.Split(r.Stderr, "\n")
			if r.Code != ExitFailed || r.Stdout != "" || len(lines) < len(tc.want) {
				t.Fatalf("got exit %d, stdout %q, stderr:\n%s\nwant exit 1, no stdout, stderr starting %q", r.Code, r.Stdout, r.Stderr, tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("got stderr line %d %q, want it to start %q", i, lines[i], w)
				}
			}
		})
	}
	r := must(t, s.ctl(t, "get", "routes"))
	if r.Stdout != "" {
		t.Errorf("got routes after refused applies:\n%s", r.Stdout)
	}
}

func hasLine(text, line string) bool {
	for l := range strings.SplitSeq(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
