package config

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that Parse never panics, and that a config that parses
// re-marshals (YAML and JSON) into a file that parses to the same config.
func FuzzParse(f *testing.F) {
	f.Add(minimal)
	for _, s := range []snippet{
		{},
		{route: "{name: orders, split: [{service: orders, weight: 90}, {service: b, weight: 10}], match: {hosts: [\"*.a.com\"], methods: [get], headers: [{name: x, regex: \"^a\"}], query: [{name: q, present: true}], path: {template: \"/u/{id}\"}}, rewrite: {path: \"/v/{id}\", host: b}, retries: {on: [502, reset], attempts: 0}, timeout: 0s}",
			service: "{name: orders, endpoints: [127.0.0.1:9001, {address: \"b:1\", weight: 3}], balancer: maglev, hash_on: {cookie: s}, health: {active: {http: {path: /h, expected_statuses: [200, 204]}}, outlier: {disabled: true}}}\n  - {name: b, endpoints: [\"[::1]:80\"], protocol: grpc, health: {active: {tcp: ~}}}"},
		{listener: "{name: web, address: 127.0.0.1:8080, limits: {max_body_bytes: 1GiB, idle_timeout: 1h}}", top: "admin: {address: off}\naccess_log: {sample: 0.5}\ntrusted_proxies: [10.0.0.0/8]"},
		{route: "{name: orders, service: orders, request_headers: {add: {a: b}, set: {c: d}, remove: [e]}, match: {methods: &m [GET]}}\n  - {name: b, service: orders, match: {methods: *m}}"},
	} {
		f.Add(s.String())
	}
	f.Add("listeners: [\n")
	f.Add("a: 1\n---\nb: 2\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse("pylon.yaml", []byte(in))
		if err != nil {
			return
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("yaml.Marshal: %v", err)
		}
		again, err := Parse("pylon.yaml", out)
		if err != nil {
			t.Fatalf("Parse of re-marshalled config: got %v, want nil; file:\n%s", err, out)
		}
		if diff := cmp.Diff(c, again, cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("re-marshalled config differs (-first +second):\n%s\nfile:\n%s", diff, out)
		}
	})
}
