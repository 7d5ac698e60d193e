package appfile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// svc is a valid service for building invalid files around it.
const svc = "services:\n  - name: a\n    command: [a]\n"

var invalidCases = []struct {
	name string
	in   string
	want string
}{
	{"empty", "",
		"app.yaml: file is empty"},
	{"cycle of upstreams", "services:\n  - name: a\n    command: [a]\n    upstreams: [b]\n  - name: b\n    command: [b]\n    upstreams: [c]\n  - name: c\n    command: [c]\n    upstreams: [a]\n",
		"app.yaml:10:17: services[2].upstreams[0]: a -> b -> c -> a is a cycle: upstreams must not call back"},
	{"no services", "services: []\n",
		"app.yaml:1:1: services: at least one service is required"},
	{"unknown top field", "servces: []\n",
		"app.yaml: services: at least one service is required\n" +
			"app.yaml:1:1: servces: unknown field \"servces\"; valid fields: authorization_policies, gateway, services, try"},
	{"unknown service field", svc + "    replica: 2\n",
		"app.yaml:4:5: services[0].replica: unknown field \"replica\"; valid fields: calls, command, dir, env, health, name, optional, protocol, replicas, stop_timeout, upstreams"},
	{"wrong types", svc + "    replicas: two\n    command: a\n",
		"app.yaml:4:15: services[0].replicas: must be an integer, not \"two\"\n" +
			"app.yaml:5:5: services[0].command: duplicate key \"command\" (first at line 3)"},
	{"command not a list", "services:\n  - name: a\n    command: a b\n",
		"app.yaml:3:14: services[0].command: must be a list"},
	{"empty command", "services:\n  - name: a\n    command: []\n",
		"app.yaml:3:5: services[0].command: required: the program and its arguments, like [\"go\", \"run\", \"./cmd/app\"]"},
	{"missing command", "services:\n  - name: a\n",
		"app.yaml:2:5: services[0].command: required: the program and its arguments, like [\"go\", \"run\", \"./cmd/app\"]"},
	{"duplicate and bad names", svc + "  - name: a\n    command: [a]\n  - name: B\n    command: [b]\n  - command: [c]\n",
		"app.yaml:4:5: services[1].name: duplicate service name \"a\"\n" +
			"app.yaml:6:5: services[2].name: \"B\" is not a valid service name; use ^[a-z0-9_.-]+$\n" +
			"app.yaml:8:5: services[3].name: required: a service name matching ^[a-z0-9_.-]+$"},
	{"replicas out of range", svc + "    replicas: -1\n  - name: b\n    command: [b]\n    replicas: 65\n",
		"app.yaml:4:5: services[0].replicas: must be between 0 and 64, not -1\n" +
			"app.yaml:7:5: services[1].replicas: must be between 0 and 64, not 65"},
	{"bad protocol", svc + "    protocol: udp\n",
		"app.yaml:4:5: services[0].protocol: \"udp\" is not valid; use one of: http1, h2c, grpc, tcp, auto"},
	{"upstreams", svc + "    upstreams: [b, a, c, b]\n  - name: b\n    command: [b]\n",
		"app.yaml:4:20: services[0].upstreams[1]: a service cannot call itself through the mesh; remove \"a\"\n" +
			"app.yaml:4:23: services[0].upstreams[2]: unknown service \"c\"; services of this file: a, b\n" +
			"app.yaml:4:26: services[0].upstreams[3]: duplicate upstream \"b\""},
	{"upstreams with one env name", svc + "    upstreams: [b-c, b.c]\n  - name: b-c\n    command: [b]\n  - name: b.c\n    command: [b]\n",
		"app.yaml:4:22: services[0].upstreams[1]: \"b-c\" and \"b.c\" both give B_C_ADDR; rename one service"},
	{"bad durations", svc + "    stop_timeout: 10\n    health: { interval: soon, replace_after: 0s }\n",
		"app.yaml:4:19: services[0].stop_timeout: 10 needs a unit, like 10s or 10ms\n" +
			"app.yaml:5:25: services[0].health.interval: must be a duration like 5s or 250ms, not \"soon\"\n" +
			"app.yaml:5:31: services[0].health.replace_after: must be a positive duration, like 30s"},
	{"zero stop timeout", svc + "    stop_timeout: 0s\n",
		"app.yaml:4:5: services[0].stop_timeout: must be a positive duration, like 10s"},
	{"two health kinds", svc + "    health: { http: { path: /h }, tcp: {} }\n",
		"app.yaml:4:5: services[0].health: only one of http, grpc, tcp may be set, found 2"},
	{"http health path", svc + "    health: { http: {} }\n  - name: b\n    command: [b]\n    health: { http: { path: h } }\n",
		"app.yaml:4:15: services[0].health.http.path: required: a path starting with \"/\", like /healthz\n" +
			"app.yaml:7:23: services[1].health.http.path: required: a path starting with \"/\", like /healthz"},
	{"unknown health field", svc + "    health: { exec: [true] }\n",
		"app.yaml:4:15: services[0].health.exec: unknown field \"exec\"; valid fields: grpc, http, interval, replace_after, tcp"},
	{"env", svc + "    upstreams: [b]\n    env: { PORT: 1, B_ADDR: x, 1X: y, OK: z }\n  - name: b\n    command: [b]\n",
		"app.yaml:5:12: services[0].env.PORT: PORT is set by pylon up for every instance; choose another name\n" +
			"app.yaml:5:21: services[0].env.B_ADDR: B_ADDR is set by pylon up for every instance; choose another name\n" +
			"app.yaml:5:32: services[0].env.1X: \"1X\" is not an environment variable name; use ^[A-Za-z_][A-Za-z0-9_]*$"},
	{"env value not a string", svc + "    env: { A: [1] }\n",
		"app.yaml:4:15: services[0].env.A: must be a string"},
	{"gateway route to an unknown service", svc + "gateway:\n  listeners: [{ name: web, address: 127.0.0.1:8080 }]\n  routes:\n    - name: r\n      service: nope\n",
		"app.yaml:8:7: gateway.routes[0].service: unknown service \"nope\"; defined: a"},
	{"gateway route to a tcp service", svc + "    protocol: tcp\ngateway:\n  listeners: [{ name: web, address: 127.0.0.1:8080 }]\n  routes: [{ name: r, split: [{ service: a }, { service: a }] }]\n",
		"app.yaml:7:33: gateway.routes[0].split[0].service: service \"a\" speaks tcp; a route needs an HTTP service (protocol http1, h2c, grpc or auto)\n" +
			"app.yaml:7:49: gateway.routes[0].split[1].service: service \"a\" speaks tcp; a route needs an HTTP service (protocol http1, h2c, grpc or auto)"},
	{"gateway service named like an app service", svc + "gateway:\n  listeners: [{ name: web, address: 127.0.0.1:8080 }]\n  routes: [{ name: r, service: a }]\n  services: [{ name: a, endpoints: [127.0.0.1:1] }]\n",
		"app.yaml:7:16: gateway.services[0].name: duplicate service name \"a\""},
	{"empty gateway", svc + "gateway: {}\n",
		"app.yaml:4:1: gateway.listeners: at least one listener is required; or leave gateway out\n" +
			"app.yaml:4:1: gateway.routes: at least one route is required; or leave gateway out"},
	{"gateway unknown field", svc + "gateway:\n  admin: { address: off }\n",
		"app.yaml:4:1: gateway.listeners: at least one listener is required; or leave gateway out\n" +
			"app.yaml:4:1: gateway.routes: at least one route is required; or leave gateway out\n" +
			"app.yaml:5:3: gateway.admin: unknown field \"admin\"; valid fields: consumers, listeners, policies, routes, services"},
	{"gateway field errors", svc + "gateway:\n  listeners: [{ name: web, address: nowhere }]\n  routes: [{ name: r, service: a, timeout: 5 }]\n",
		"app.yaml:5:28: gateway.listeners[0].address: \"nowhere\" is not host:port (like 127.0.0.1:8080 or example.com:443)\n" +
			"app.yaml:6:44: gateway.routes[0].timeout: 5 needs a unit, like 5s or 5ms"},
	{"gateway policy references", svc + "gateway:\n  listeners: [{ name: web, address: 127.0.0.1:8080 }]\n" +
		"  routes: [{ name: r, service: a, policies: [keyed, nope] }]\n" +
		"  policies:\n    - { name: keyed, authentication: { api_key: {} }, allow_consumers: [ghost] }\n",
		"app.yaml:6:53: gateway.routes[0].policies[1]: unknown policy \"nope\"; defined: keyed\n" +
			"app.yaml:8:73: gateway.policies[0].allow_consumers[0]: unknown consumer \"ghost\"; none are defined"},
	{"gateway policy and consumer fields", svc + "gateway:\n  listeners: [{ name: web, address: 127.0.0.1:8080 }]\n" +
		"  routes: [{ name: r, service: a }]\n" +
		"  policies: [{ name: p, rate_limit: { requests: 0, per: 1m, by: ip } }]\n" +
		"  consumers: [{ name: c, api_keys: [short] }, { name: d, key: x }]\n",
		"app.yaml:7:39: gateway.policies[0].rate_limit.requests: must be between 1 and 1000000000, not 0\n" +
			"app.yaml:7:61: gateway.policies[0].rate_limit.by: \"ip\" is not valid; use one of: client_ip, consumer, header\n" +
			"app.yaml:8:37: gateway.consumers[0].api_keys[0]: an API key needs at least 16 characters, found 5; use a random one (openssl rand -hex 24)\n" +
			"app.yaml:8:58: gateway.consumers[1].key: unknown field \"key\"; valid fields: api_keys, name, rate_limit"},
	{"policy", svc + "authorization_policies:\n  - name: p\n    service: a\n    action: maybe\n",
		"app.yaml:7:5: authorization_policies[0].action: \"maybe\" is not valid; use one of: allow, deny"},
	{"calls", svc + "    calls: { timeout: -1s, retries: { on: [404] } }\n",
		"app.yaml:4:14: services[0].calls.timeout: must not be negative; 0s means no timeout\n" +
			"app.yaml:4:44: services[0].calls.retries.on[0]: \"404\" is not retryable; use connect_failure, reset, refused_stream or a 5xx status"},
	{"replace_after below interval", svc + "    health: { interval: 5s, replace_after: 2s }\n",
		"app.yaml:4:29: services[0].health.replace_after: must be at least interval (5s)"},
	{"gateway split to unknown services", svc + "gateway:\n  listeners: [{ name: web, address: 127.0.0.1:8080 }]\n  routes: [{ name: r, split: [{ service: a }, { service: x }] }]\n",
		"app.yaml:6:49: gateway.routes[0].split[1].service: unknown service \"x\"; defined: a"},
}

func TestParseInvalid(t *testing.T) {
	for _, tt := range invalidCases {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse("app.yaml", []byte(tt.in))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if err != nil && a != nil {
				t.Errorf("got an App with an error")
			}
		})
	}
}
