package ctl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPolicyRow(t *testing.T) {
	tests := []struct {
		name, item string
		want       []string
	}{
		{"every field",
			`{"name":"p","version":3,"spec":{"service":"inventory","namespace":"default","action":"allow",` +
				`"from":[{"identities":["spiffe://td/ns/a/svc/b"],"namespaces":["a"],"services":["b","c"]},{"namespaces":["x"]}],` +
				`"to":[{"methods":["POST","PUT"],"paths":[{"prefix":"/v1"},{"template":"/i/{id}"}],"headers":[{"name":"x-role","exact":"admin"}]},{"methods":["GET"]}]}}`,
			[]string{"p", "inventory", "allow", "ids=spiffe://td/ns/a/svc/b ns=a svc=b,c; ns=x", "methods=POST,PUT paths=prefix:/v1,template:/i/{id} headers=x-role; methods=GET", "3"}},
		{"any source, any request, another namespace",
			`{"name":"p","version":1,"spec":{"service":"s","namespace":"shop","action":"deny"}}`,
			[]string{"p", "shop/s", "deny", "any", "any", "1"}},
		{"empty spec", `{"name":"p","version":1,"spec":{}}`, []string{"p", "-", "-", "any", "any", "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policyRow(json.RawMessage(tc.item), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetAuthorizationPolicies(t *testing.T) {
	s := newServer(t)
	doc := filepath.Join(t.TempDir(), "policies.yaml")
	body := "authorization_policies:\n" +
		"  - {name: reads, service: inventory, action: allow, to: [{methods: [get]}]}\n" +
		"  - {name: no-batch, service: inventory, action: deny, from: [{namespaces: [batch]}]}\n"
	if err := os.WriteFile(doc, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := must(t, s.ctl(t, "apply", "-f", doc))
	if diff := cmp.Diff("authorization_policy/reads created\nauthorization_policy/no-batch created\n", r.Stdout); diff != "" {
		t.Errorf("apply (-want +got):\n%s", diff)
	}
	reads, noBatch := versionOf(t, s, "authz", "reads"), versionOf(t, s, "authorization_policy", "no-batch")
	header := []string{"NAME", "SERVICE", "ACTION", "FROM", "TO", "VERSION"}
	tests := []struct {
		args []string
		want [][]string
	}{
		{[]string{"get", "authorization_policies"}, [][]string{header, {"reads", "inventory", "allow", "any", "methods=GET", reads}, {"no-batch", "inventory", "deny", "ns=batch", "any", noBatch}}},
		{[]string{"get", "authz", "no-batch"}, [][]string{header, {"no-batch", "inventory", "deny", "ns=batch", "any", noBatch}}},
	}
	for _, tc := range tests {
		r := must(t, s.ctl(t, tc.args...))
		if diff := cmp.Diff(tc.want, fields(r.Stdout)); diff != "" {
			t.Errorf("%v: table (-want +got):\n%s\n%s", tc.args, diff, r.Stdout)
		}
	}
	must(t, s.ctl(t, "delete", "authz", "reads"))
	r = must(t, s.ctl(t, "get", "authz"))
	if got := len(fields(r.Stdout)); got != 2 {
		t.Errorf("after delete: got %d lines, want the header and no-batch:\n%s", got, r.Stdout)
	}
}

func TestApplyInvalidPolicy(t *testing.T) {
	s := newServer(t)
	r := runAt(t, s.Now, s.env(), "authorization_policies:\n  - {name: p, service: s, action: permit}\n", "apply", "-f", "-")
	msg := `stdin:2:27: authorization_policies[0].action: "permit" is not valid; use one of: allow, deny`
	want := "error: invalid_config: " + msg + "\n  " + msg + "\n"
	if diff := cmp.Diff([2]any{ExitFailed, want}, [2]any{r.Code, r.Stderr}); diff != "" {
		t.Errorf("exit code and stderr (-want +got):\n%s", diff)
	}
}
