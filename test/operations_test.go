package test

import (
	"os"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMetricsDocMatchesExport checks that the metrics docs/operations.md
// lists are exactly the pylon_* metrics a gateway exports after traffic.
func TestMetricsDocMatchesExport(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(pylon_[a-z_]+)`").FindAllSubmatch(doc, -1) {
		documented[string(m[1])] = true
	}
	const cfg = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: status
    match: { path: { prefix: /status } }
    service: echo
    retries: { attempts: 1 }
services:
  - name: echo
    endpoints: [{{.Echo}}]
`
	g := startGateway(t, cfg, map[string]string{"Echo": startEcho(t, "e1")})
	c := newClient(t)
	// An upstream error with a retry, a success, and a request pylon refuses.
	for _, path := range []string{"/status/503", "/status/200", "/nothing"} {
		resp, err := c.Get(g.url("web") + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
	}
	// A request is counted once its response is written, which can be a
	// moment after the client has read it: poll briefly for the last one.
	var exported map[string]bool
	deadline := time.Now().Add(2 * time.Second)
	for {
		exported = map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^# TYPE (pylon_[a-z_]+) `).FindAllStringSubmatch(g.get("/metrics"), -1) {
			exported[m[1]] = true
		}
		if len(exported) >= len(documented) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := cmp.Diff(keys(documented), keys(exported)); d != "" {
		t.Errorf("metrics in docs/operations.md (-) and exported (+) differ:\n%s", d)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
