package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// policySnippet is a valid gateway file followed by the given policies.
func policySnippet(policies string) []byte {
	return []byte(snippet{top: "authorization_policies:\n" + policies}.String())
}

func TestParseAuthorizationPolicies(t *testing.T) {
	in := policySnippet(`  - name: inventory-writes
    service: inventory
    action: allow
    from:
      - identities: [spiffe://pylon.local/ns/default/svc/orders]
        namespaces: [default]
        services: [orders]
    to:
      - methods: [post, PUT]
        paths: [{ prefix: /v1/stock }, { template: "/v1/items/{id}" }]
        headers: [{ name: x-role, exact: admin }]
  - { name: block-batch, service: inventory, namespace: shop, action: deny, from: [{ services: [batch] }] }
`)
	c, err := Parse("f.yaml", in)
	if err != nil {
		t.Fatalf("Parse: got error\n%v\nwant nil", err)
	}
	want := []AuthorizationPolicy{
		{
			Name: "inventory-writes", Service: "inventory", Namespace: DefaultNamespace, Action: PolicyAllow,
			From: []PolicySource{{
				Identities: []string{"spiffe://pylon.local/ns/default/svc/orders"},
				Namespaces: []string{"default"},
				Services:   []string{"orders"},
			}},
			To: []PolicyTarget{{
				Methods: []string{"POST", "PUT"},
				Paths:   []PathMatch{{Prefix: "/v1/stock"}, {Template: "/v1/items/{id}"}},
				Headers: []ValueMatch{{Name: "x-role", Exact: "admin"}},
			}},
		},
		{Name: "block-batch", Service: "inventory", Namespace: "shop", Action: PolicyDeny, From: []PolicySource{{Services: []string{"batch"}}}},
	}
	if diff := cmp.Diff(want, c.AuthorizationPolicies); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
}

func TestParseAuthorizationPoliciesInvalid(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"missing required fields", "  - {from: [{services: [a]}]}\n", []string{
			`f.yaml:8:5: authorization_policies[0].name: required: a policy name matching ^[a-z0-9_-]+$`,
			`f.yaml:8:5: authorization_policies[0].service: required: a service name matching ^[a-z0-9_.-]+$`,
			`f.yaml:8:5: authorization_policies[0].action: required: allow or deny`,
		}},
		{"bad name, service, namespace, action", "  - {name: A, service: In_V!, namespace: N, action: permit}\n", []string{
			`f.yaml:8:6: authorization_policies[0].name: "A" is not a valid policy name; use ^[a-z0-9_-]+$`,
			`f.yaml:8:15: authorization_policies[0].service: "In_V!" is not a valid service name; use ^[a-z0-9_.-]+$`,
			`f.yaml:8:31: authorization_policies[0].namespace: "N" is not a valid namespace name; use ^[a-z0-9_.-]+$`,
			`f.yaml:8:45: authorization_policies[0].action: "permit" is not valid; use one of: allow, deny`,
		}},
		{"duplicate name", "  - {name: a, service: s, action: allow}\n  - {name: a, service: s, action: deny}\n", []string{
			`f.yaml:9:6: authorization_policies[1].name: duplicate policy name "a"`,
		}},
		{"empty from and to", "  - {name: a, service: s, action: allow, from: [], to: []}\n", []string{
			`f.yaml:8:42: authorization_policies[0].from: must not be empty; leave from out to match every source`,
			`f.yaml:8:52: authorization_policies[0].to: must not be empty; leave to out to match every request`,
		}},
		{"empty entries", "  - {name: a, service: s, action: allow, from: [{}], to: [{}]}\n", []string{
			`f.yaml:8:49: authorization_policies[0].from[0]: at least one of identities, namespaces, services is required`,
			`f.yaml:8:59: authorization_policies[0].to[0]: at least one of methods, paths, headers is required`,
		}},
		{"empty lists in entries", "  - {name: a, service: s, action: allow, from: [{identities: [], services: [b]}], to: [{methods: [], paths: [{prefix: /}], headers: []}]}\n", []string{
			`f.yaml:8:50: authorization_policies[0].from[0].identities: must not be empty; leave it out`,
			`f.yaml:8:89: authorization_policies[0].to[0].methods: must not be empty; leave it out`,
			`f.yaml:8:124: authorization_policies[0].to[0].headers: must not be empty; leave it out`,
		}},
		{"bad sources", "  - {name: a, service: s, action: allow, from: [{namespaces: [Prod], services: [\"\"]}]}\n", []string{
			`f.yaml:8:63: authorization_policies[0].from[0].namespaces[0]: "Prod" is not a valid namespace name; use ^[a-z0-9_.-]+$`,
			`f.yaml:8:81: authorization_policies[0].from[0].services[0]: required: a service name matching ^[a-z0-9_.-]+$`,
		}},
		{"bad targets", "  - {name: a, service: s, action: deny, to: [{methods: [\"G T\"], paths: [{prefix: x}, {regex: \"(\"}, {}], headers: [{name: \"a b\", present: true}]}]}\n", []string{
			`f.yaml:8:57: authorization_policies[0].to[0].methods[0]: "G T" is not a method token like GET`,
			`f.yaml:8:74: authorization_policies[0].to[0].paths[0].prefix: must start with "/"`,
			`f.yaml:8:87: authorization_policies[0].to[0].paths[1].regex: invalid Go regular expression: error parsing regexp: missing closing ): ` + "`(`",
			`f.yaml:8:100: authorization_policies[0].to[0].paths[2]: exactly one of exact, prefix, regex, template is required, found 0`,
			`f.yaml:8:116: authorization_policies[0].to[0].headers[0].name: "a b" is not a header name token`,
		}},
		{"unknown field", "  - {name: a, service: s, action: deny, to: [{path: /x}]}\n", []string{
			`f.yaml:8:47: authorization_policies[0].to[0].path: unknown field "path"; valid fields: headers, methods, paths`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", policySnippet(tc.in))
			if err == nil {
				t.Fatal("got nil error, want errors")
			}
			if diff := cmp.Diff(tc.want, errLines(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckSPIFFEID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"spiffe://pylon.local/ns/default/svc/orders", ""},
		{"spiffe://td/Any.Path_-/x", ""},
		{"http://pylon.local/ns/a", "must start with spiffe://"},
		{"SPIFFE://pylon.local/ns/a", "must start with spiffe://"},
		{"spiffe:///ns/a", "the trust domain is missing"},
		{"spiffe://Pylon.local/ns/a", "the trust domain may hold only lower-case letters, digits, '.', '-' and '_'"},
		{"spiffe://pylon.local:8080/ns/a", "the trust domain may hold only lower-case letters, digits, '.', '-' and '_'"},
		{"spiffe://pylon.local", "the path is missing; a workload's is /ns/<namespace>/svc/<service>"},
		{"spiffe://pylon.local/", "path segment 1 is empty"},
		{"spiffe://pylon.local/ns//svc", "path segment 2 is empty"},
		{"spiffe://pylon.local/ns/a/", "path segment 3 is empty"},
		{"spiffe://pylon.local/ns/../svc", "path segments must not be . or .."},
		{"spiffe://pylon.local/ns/a%20b", `path segment "a%20b" may hold only letters, digits, '.', '-' and '_'`},
		{"spiffe://pylon.local/ns/a?q", `path segment "a?q" may hold only letters, digits, '.', '-' and '_'`},
	}
	for _, tc := range tests {
		if got := checkSPIFFEID(tc.in); got != tc.want {
			t.Errorf("checkSPIFFEID(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseItemAuthorizationPolicy(t *testing.T) {
	c, err := ParseItem("body", []byte(`{name: p, service: s, action: deny, to: [{methods: [delete]}]}`), SectionAuthorizationPolicies)
	if err != nil {
		t.Fatalf("ParseItem: got error %v, want nil", err)
	}
	want := []AuthorizationPolicy{{Name: "p", Service: "s", Namespace: DefaultNamespace, Action: PolicyDeny, To: []PolicyTarget{{Methods: []string{"DELETE"}}}}}
	if diff := cmp.Diff(want, c.AuthorizationPolicies); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	_, err = ParseItem("body", []byte("name: p\nservice: s\naction: allow\nfrom: [{identities: [x]}]\n"), SectionAuthorizationPolicies)
	want2 := []string{`body:4:22: from[0].identities[0]: "x" is not a SPIFFE ID: must start with spiffe://`}
	if diff := cmp.Diff(want2, errLines(t, err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
