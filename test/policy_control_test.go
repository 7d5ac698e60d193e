package test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// partnerKey is the API key of the consumer in the control plane policy
// test, in plain form: the control plane keeps only its SHA-256.
const partnerKey = "partner-e2e-key-0123456789"

// gatewayPolicyDoc protects route api of gatewayDoc with policy keyed:
// an API key of consumer partner, and 2 requests a minute per consumer.
const gatewayPolicyDoc = `consumers:
  - name: partner
    api_keys: [` + partnerKey + `]
policies:
  - name: keyed
    authentication: { api_key: {} }
    allow_consumers: [partner]
    rate_limit: { requests: 2, per: 1m, by: consumer }
routes:
  - name: api
    match:
      path: { prefix: /api }
    service: api
    policies: [keyed]
`

// getWithKey GETs url, with key in X-API-Key unless it is empty, and
// returns the status and body.
func getWithKey(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestControlPlanePolicies: a consumer and a policy applied with `pylon ctl
// apply` reach a managed gateway, which then asks for the key, tells the
// upstream who called, and limits the consumer; applying the route without
// its policy opens it again.
func TestControlPlanePolicies(t *testing.T) {
	upstream := startHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "consumer="+r.Header.Get("X-Pylon-Consumer"))
	}))
	cp := startControl(t, "")
	cp.applyYAML(gatewayDoc(upstream))
	g := startManagedGateway(t, []string{cp.listen}, cp.joinToken("edge"), "edge-1")
	url := g.url("web") + "/api/x"
	if code, b := getWithKey(t, url, ""); code != http.StatusOK || b != "consumer=" {
		t.Fatalf("before any policy: got %d %q, want 200 from the upstream with no consumer", code, b)
	}

	doc := filepath.Join(t.TempDir(), "policies.yaml")
	if err := os.WriteFile(doc, []byte(gatewayPolicyDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	dry := cp.mustCtl("apply", "-f", doc, "--dry-run")
	for _, want := range []string{"consumer/partner created (dry run)\n", "policy/keyed created (dry run)\n", "route/api updated (dry run)\n",
		"    +     - sha256:", "    + policies:\n    +     - keyed\n"} {
		if !strings.Contains(dry, want) {
			t.Errorf("apply --dry-run: got\n%s\nwant it to hold %q", dry, want)
		}
	}
	if strings.Contains(dry, partnerKey) {
		t.Errorf("apply --dry-run shows the plain API key:\n%s", dry)
	}

	out := cp.mustCtl("apply", "-f", doc)
	if want := "consumer/partner created\npolicy/keyed created\nroute/api updated\n"; out != want {
		t.Errorf("apply: got %q, want %q", out, want)
	}
	waitFor(t, 5*time.Second, "the gateway to ask for an API key", func() bool {
		code, _ := getWithKey(t, url, "")
		return code == http.StatusUnauthorized
	})
	var got []string
	for range 3 {
		code, b := getWithKey(t, url, partnerKey)
		got = append(got, http.StatusText(code)+" "+b)
	}
	want := []string{"OK consumer=partner", "OK consumer=partner"}
	if len(got) != 3 || strings.Join(got[:2], "|") != strings.Join(want, "|") || !strings.HasPrefix(got[2], http.StatusText(http.StatusTooManyRequests)) {
		t.Errorf("three requests with the key: got %q, want two served for partner, then 429", got)
	}
	if code, _ := getWithKey(t, url, "not-a-key-of-anyone-0000"); code != http.StatusUnauthorized {
		t.Errorf("an unknown key: got %d, want 401", code)
	}
	if tbl := cp.mustCtl("get", "consumers"); strings.Contains(tbl, partnerKey) || !strings.Contains(tbl, "partner") {
		t.Errorf("get consumers: got\n%s\nwant partner without its key", tbl)
	}

	// The route without its policy is open again.
	cp.applyYAML(strings.Replace(gatewayPolicyDoc, "    policies: [keyed]\n", "", 1))
	waitFor(t, 5*time.Second, "the route to be open again", func() bool {
		code, b := getWithKey(t, url, "")
		return code == http.StatusOK && b == "consumer="
	})
	// Now nothing lists them, the policy and then the consumer can go.
	cp.mustCtl("delete", "policy", "keyed")
	cp.mustCtl("delete", "consumer", "partner")
}
