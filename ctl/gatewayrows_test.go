package ctl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
)

func TestGatewayPolicyRow(t *testing.T) {
	tests := []struct {
		name, item string
		want       []string
	}{
		{"api key, allow list, limit by consumer",
			`{"name":"keyed","version":4,"spec":{"authentication":{"api_key":{"header":"X-API-Key"}},"allow_consumers":["a","b"],` +
				`"rate_limit":{"requests":100,"per":"1m0s","burst":100,"by":"consumer","on_error":"allow"}}}`,
			[]string{"keyed", "api_key", "a,b", "100/1m by consumer", "4"}},
		{"both credentials, a burst, by header",
			`{"name":"p","version":1,"spec":{"authentication":{"api_key":{"query":"key"},"jwt":{"issuer":"i"}},` +
				`"rate_limit":{"requests":5,"per":"1h0m0s","burst":20,"by":"header","header":"X-Tenant"}}}`,
			[]string{"p", "api_key,jwt", "any", "5/1h burst 20 by header:X-Tenant", "1"}},
		{"a limit alone", `{"name":"p","version":2,"spec":{"rate_limit":{"requests":10,"per":"1m30s","burst":10,"by":"client_ip"}}}`,
			[]string{"p", "-", "any", "10/1m30s by client_ip", "2"}},
		{"empty spec", `{"name":"p","version":1,"spec":{}}`, []string{"p", "-", "any", "-", "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gatewayPolicyRow(json.RawMessage(tc.item), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("row (-want +got):\n%s", d)
			}
		})
	}
}

func TestConsumerRow(t *testing.T) {
	tests := []struct {
		name, item string
		want       []string
	}{
		{"keys and a rate", `{"name":"partner","version":3,"spec":{"api_keys":["sha256:aa","sha256:bb"],"rate_limit":{"requests":10,"per":"1s","burst":10}}}`,
			[]string{"partner", "2", "10/1s", "3"}},
		{"a rate with a burst", `{"name":"c","version":1,"spec":{"rate_limit":{"requests":1,"per":"500ms","burst":3}}}`,
			[]string{"c", "0", "1/500ms burst 3", "1"}},
		{"keys only", `{"name":"c","version":1,"spec":{"api_keys":["sha256:aa"]}}`, []string{"c", "1", "-", "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := consumerRow(json.RawMessage(tc.item), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("row (-want +got):\n%s", d)
			}
		})
	}
}

const partnerKey = "pk-0f1e2d3c4b5a69788"

const gatewayPoliciesDoc = `services: [{name: orders, endpoints: ["127.0.0.1:9001"]}]
routes:
  - {name: orders, match: {path: {prefix: /orders}}, service: orders, policies: [keyed]}
policies:
  - {name: keyed, authentication: {api_key: {}}, allow_consumers: [partner], rate_limit: {requests: 2, per: 1m, by: consumer}}
consumers:
  - {name: partner, api_keys: ["` + partnerKey + `"], rate_limit: {requests: 10, per: 1s}}
`

func TestGatewayPoliciesWithCtl(t *testing.T) {
	s := newServer(t)
	doc := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(doc, []byte(gatewayPoliciesDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := must(t, s.ctl(t, "apply", "-f", doc, "--dry-run"))
	for _, line := range []string{"consumer/partner created (dry run)", "policy/keyed created (dry run)", "route/orders created (dry run)",
		"    + name: partner", "    +     - " + config.HashAPIKey(partnerKey), "    +     - partner"} {
		if !strings.Contains(r.Stdout, line+"\n") {
			t.Errorf("dry run: got\n%s\nwant a line %q", r.Stdout, line)
		}
	}
	if strings.Contains(r.Stdout, partnerKey) {
		t.Errorf("dry run shows the plain API key:\n%s", r.Stdout)
	}
	r = must(t, s.ctl(t, "apply", "-f", doc))
	if d := cmp.Diff("service/orders created\nconsumer/partner created\npolicy/keyed created\nroute/orders created\n", r.Stdout); d != "" {
		t.Errorf("apply (-want +got):\n%s", d)
	}
	v := versionOf(t, s, "pol", "keyed")
	tests := []struct {
		args []string
		want [][]string
	}{
		{[]string{"get", "policies"}, [][]string{{"NAME", "AUTH", "CONSUMERS", "RATE-LIMIT", "VERSION"}, {"keyed", "api_key", "partner", "2/1m", "by", "consumer", v}}},
		{[]string{"get", "pol", "keyed"}, [][]string{{"NAME", "AUTH", "CONSUMERS", "RATE-LIMIT", "VERSION"}, {"keyed", "api_key", "partner", "2/1m", "by", "consumer", v}}},
		{[]string{"get", "consumers"}, [][]string{{"NAME", "KEYS", "RATE-LIMIT", "VERSION"}, {"partner", "1", "10/1s", v}}},
		{[]string{"get", "cons", "partner"}, [][]string{{"NAME", "KEYS", "RATE-LIMIT", "VERSION"}, {"partner", "1", "10/1s", v}}},
	}
	for _, tc := range tests {
		r := must(t, s.ctl(t, tc.args...))
		if d := cmp.Diff(tc.want, fields(r.Stdout)); d != "" {
			t.Errorf("%v: table (-want +got):\n%s\n%s", tc.args, d, r.Stdout)
		}
	}
	r = must(t, s.ctl(t, "describe", "consumer", "partner"))
	if !strings.Contains(r.Stdout, config.HashAPIKey(partnerKey)) || strings.Contains(r.Stdout, partnerKey) {
		t.Errorf("describe consumer: got\n%s\nwant the key's hash and not the key", r.Stdout)
	}

	// What a policy lists cannot go first.
	r = s.ctl(t, "delete", "cons", "partner")
	want := `  policy/keyed: allow_consumers[0]: unknown consumer "partner"; none are defined` + "\n"
	if r.Code != ExitFailed || !strings.HasSuffix(r.Stderr, want) {
		t.Errorf("delete consumer a policy lists: got exit %d, stderr:\n%s\nwant exit %d ending %q", r.Code, r.Stderr, ExitFailed, want)
	}
	for _, args := range [][]string{{"route", "orders"}, {"policy", "keyed"}, {"consumer", "partner"}} {
		r := must(t, s.ctl(t, append([]string{"delete"}, args...)...))
		if d := cmp.Diff(args[0]+"/"+args[1]+" deleted\n", r.Stdout); d != "" {
			t.Errorf("delete %v (-want +got):\n%s", args, d)
		}
	}
}

// TestUsageListsEveryKind: the usage names each kind with its other names,
// "plural (singular, aliases)" on one line, as docs and scripts read it.
func TestUsageListsEveryKind(t *testing.T) {
	for _, k := range kinds {
		names := strings.Join(append([]string{k.singular}, k.aliases...), ", ")
		entry := k.plural + " (" + names + ")"
		found := false
		for line := range strings.SplitSeq(usageTail, "\n") {
			found = found || strings.Contains(line, entry)
		}
		if !found {
			t.Errorf("usage: no line holds %q:\n%s", entry, usageTail)
		}
	}
}
