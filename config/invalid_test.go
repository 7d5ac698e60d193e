package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// snippet builds a config file with one listener (line 2), one route
// (line 4) and one service (line 6), each a one-line flow mapping that a
// test case may replace, followed by extra top-level lines (from line 7).
type snippet struct {
	listener, route, service, top string
}

func (s snippet) String() string {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	return "listeners:\n  - " + or(s.listener, "{name: web, address: 127.0.0.1:8080}") +
		"\nroutes:\n  - " + or(s.route, "{name: orders, service: orders}") +
		"\nservices:\n  - " + or(s.service, "{name: orders, endpoints: [127.0.0.1:9001]}") +
		"\n" + s.top
}

// errLines returns the lines of a Parse error, failing unless it is Errors.
func errLines(t *testing.T, err error) []string {
	t.Helper()
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got error %T %v, want config.Errors", err, err)
	}
	return strings.Split(errs.Error(), "\n")
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   snippet
		want []string
	}{
		// listeners
		{"listener tls without certificates", snippet{listener: "{name: web, address: 127.0.0.1:8080, tls: {certificates: []}}"},
			[]string{`f.yaml:2:48: listeners[0].tls.certificates: at least one certificate {cert, key} is required`}},
		{"listener tls cert without key", snippet{listener: "{name: web, address: 127.0.0.1:8080, tls: {certificates: [{cert: a.pem}]}}"},
			[]string{`f.yaml:2:63: listeners[0].tls.certificates[0].key: required: path of a PEM private key (with cert)`}},
		{"listener tls key without cert", snippet{listener: "{name: web, address: 127.0.0.1:8080, tls: {certificates: [{key: a.pem}]}}"},
			[]string{`f.yaml:2:63: listeners[0].tls.certificates[0].cert: required: path of a PEM certificate (with key)`}},
		{"listener tls missing files", snippet{listener: "{name: web, address: 127.0.0.1:8080, tls: {certificates: [{cert: c.pem, key: k.pem}]}}"},
			[]string{`f.yaml:2:64: listeners[0].tls.certificates[0].cert: load certificate c.pem and key k.pem: open c.pem: no such file or directory`}},
		{"listener tls min_version", snippet{listener: "{name: web, address: 127.0.0.1:8080, tls: {certificates: [], min_version: 1.1}}"},
			[]string{
				`f.yaml:2:48: listeners[0].tls.certificates: at least one certificate {cert, key} is required`,
				`f.yaml:2:66: listeners[0].tls.min_version: "1.1" is not valid; use one of: 1.2, 1.3`,
			}},
		{"listener tls unknown field", snippet{listener: "{name: web, address: 127.0.0.1:8080, tls: {cert: a.pem}}"},
			[]string{
				`f.yaml:2:42: listeners[0].tls.certificates: at least one certificate {cert, key} is required`,
				`f.yaml:2:48: listeners[0].tls.cert: unknown field "cert"; valid fields: certificates, min_version`,
			}},
		{"listener limits zero", snippet{listener: "{name: web, address: 127.0.0.1:8080, limits: {max_header_bytes: 0, max_uri_bytes: 0, max_headers: 0, max_body_bytes: 0}}"},
			[]string{
				`f.yaml:2:51: listeners[0].limits.max_header_bytes: must be a positive size`,
				`f.yaml:2:72: listeners[0].limits.max_uri_bytes: must be a positive size`,
				`f.yaml:2:90: listeners[0].limits.max_headers: must be a positive count`,
				`f.yaml:2:106: listeners[0].limits.max_body_bytes: must be a positive size`,
			}},
		{"listener limits too large", snippet{listener: "{name: web, address: 127.0.0.1:8080, limits: {max_header_bytes: 2MiB, max_uri_bytes: 3MiB}}"},
			[]string{
				`f.yaml:2:51: listeners[0].limits.max_header_bytes: 2097152 is more than the 1MiB a request head may be; use at most 1MiB`,
				`f.yaml:2:75: listeners[0].limits.max_uri_bytes: 3145728 is more than max_header_bytes (2097152), which the request line counts against; use at most max_header_bytes`,
			}},
		{"listener limits zero timeouts", snippet{listener: "{name: web, address: 127.0.0.1:8080, limits: {read_header_timeout: 0s, body_read_timeout: 0s, idle_timeout: 0s, max_connections: 0}}"},
			[]string{
				`f.yaml:2:51: listeners[0].limits.read_header_timeout: must be a positive duration`,
				`f.yaml:2:76: listeners[0].limits.body_read_timeout: must be a positive duration`,
				`f.yaml:2:99: listeners[0].limits.idle_timeout: must be a positive duration`,
				`f.yaml:2:117: listeners[0].limits.max_connections: must be a positive count`,
			}},
		{"listener limits bad size", snippet{listener: "{name: web, address: 127.0.0.1:8080, limits: {max_uri_bytes: 8XiB}}"},
			[]string{`f.yaml:2:66: listeners[0].limits.max_uri_bytes: must be a size like 1048576, 512B, 64KiB, 10MiB or 1GiB`}},
		{"listener limits duration without unit", snippet{listener: "{name: web, address: 127.0.0.1:8080, limits: {read_header_timeout: 10}}"},
			[]string{`f.yaml:2:72: listeners[0].limits.read_header_timeout: 10 needs a unit, like 10s or 10ms`}},
		{"listener limits not an integer", snippet{listener: "{name: web, address: 127.0.0.1:8080, limits: {max_headers: many}}"},
			[]string{`f.yaml:2:64: listeners[0].limits.max_headers: must be an integer, not "many"`}},
		{"listener limits not a mapping", snippet{listener: "{name: web, address: 127.0.0.1:8080, limits: 5}"},
			[]string{`f.yaml:2:50: listeners[0].limits: must be a mapping with fields: body_read_timeout, idle_timeout, max_body_bytes, max_connections, max_header_bytes, max_headers, max_uri_bytes, read_header_timeout`}},
		{"listener unknown field", snippet{listener: "{name: web, address: 127.0.0.1:8080, port: 80}"},
			[]string{`f.yaml:2:42: listeners[0].port: unknown field "port"; valid fields: address, limits, name, tls`}},
		{"listener duplicate key", snippet{listener: "{name: web, name: web2, address: 127.0.0.1:8080}"},
			[]string{`f.yaml:2:17: listeners[0].name: duplicate key "name" (first at line 2)`}},
		{"listener missing name and address", snippet{listener: "{}"},
			[]string{
				`f.yaml:2:5: listeners[0].name: required: a listener name matching ^[a-z0-9_-]+$`,
				`f.yaml:2:5: listeners[0].address: required: host:port to listen on, like 127.0.0.1:8080`,
			}},
		{"listener bad name", snippet{listener: "{name: Web, address: 127.0.0.1:8080}"},
			[]string{`f.yaml:2:6: listeners[0].name: "Web" is not a valid listener name; use ^[a-z0-9_-]+$`}},
		{"listener bad port", snippet{listener: "{name: web, address: 127.0.0.1:0}"},
			[]string{`f.yaml:2:17: listeners[0].address: "127.0.0.1:0": port must be 1..65535`}},
		{"listener no port", snippet{listener: "{name: web, address: localhost}"},
			[]string{`f.yaml:2:17: listeners[0].address: "localhost" is not host:port (like 127.0.0.1:8080 or example.com:443)`}},
		{"listener bad host", snippet{listener: "{name: web, address: \"a b:80\"}"},
			[]string{`f.yaml:2:17: listeners[0].address: "a b:80": host must be an IP address or a DNS name`}},
		{"listener duplicates", snippet{listener: "{name: web, address: 127.0.0.1:8080}\n  - {name: web, address: 127.0.0.1:8080}"},
			[]string{
				`f.yaml:3:6: listeners[1].name: duplicate listener name "web"`,
				`f.yaml:3:17: listeners[1].address: duplicate listener address "127.0.0.1:8080"`,
			}},

		// routes
		{"route unknown listener", snippet{route: "{name: orders, service: orders, listeners: [web, api]}"},
			[]string{`f.yaml:4:54: routes[0].listeners[1]: unknown listener "api"; defined: web`}},
		{"route bad host", snippet{route: "{name: orders, service: orders, match: {hosts: [\"a b\", \"*.x.com:80\"]}}"},
			[]string{
				`f.yaml:4:53: routes[0].match.hosts[0]: "a b" is not a host name or *.wildcard (no ports)`,
				`f.yaml:4:60: routes[0].match.hosts[1]: "*.x.com:80" is not a host name or *.wildcard (no ports)`,
			}},
		{"route bad method", snippet{route: "{name: orders, service: orders, match: {methods: [\"G T\"]}}"},
			[]string{`f.yaml:4:55: routes[0].match.methods[0]: "G T" is not a method token like GET`}},
		{"route header without condition", snippet{route: "{name: orders, service: orders, match: {headers: [{name: x-env}]}}"},
			[]string{`f.yaml:4:55: routes[0].match.headers[0]: exactly one of exact, regex, present: true is required, found 0`}},
		{"route header without name", snippet{route: "{name: orders, service: orders, match: {headers: [{exact: a}]}}"},
			[]string{`f.yaml:4:55: routes[0].match.headers[0].name: required`}},
		{"route header bad name", snippet{route: "{name: orders, service: orders, match: {headers: [{name: \"a b\", exact: a}]}}"},
			[]string{`f.yaml:4:56: routes[0].match.headers[0].name: "a b" is not a header name token`}},
		{"route header two conditions", snippet{route: "{name: orders, service: orders, match: {headers: [{name: a, exact: a, present: true}]}}"},
			[]string{`f.yaml:4:55: routes[0].match.headers[0]: exactly one of exact, regex, present: true is required, found 2`}},
		{"route header present not bool", snippet{route: "{name: orders, service: orders, match: {headers: [{name: a, present: yes please}]}}"},
			[]string{
				`f.yaml:4:74: routes[0].match.headers[0].present: must be true or false, not "yes please"`,
			}},
		{"route query bad regex", snippet{route: "{name: orders, service: orders, match: {query: [{name: q, regex: \"(\"}]}}"},
			[]string{"f.yaml:4:63: routes[0].match.query[0].regex: invalid Go regular expression: error parsing regexp: missing closing ): `(`"}},
		{"route query unknown field", snippet{route: "{name: orders, service: orders, match: {query: [{name: q, exists: true}]}}"},
			[]string{
				`f.yaml:4:63: routes[0].match.query[0].exists: unknown field "exists"; valid fields: exact, name, present, regex`,
			}},
		{"route prefix without slash", snippet{route: "{name: orders, service: orders, match: {path: {prefix: orders}}}"},
			[]string{`f.yaml:4:52: routes[0].match.path.prefix: must start with "/"`}},
		{"route exact without slash", snippet{route: "{name: orders, service: orders, match: {path: {exact: orders}}}"},
			[]string{`f.yaml:4:52: routes[0].match.path.exact: must start with "/"`}},
		{"route template without slash", snippet{route: "{name: orders, service: orders, match: {path: {template: \"o/{id}\"}}}"},
			[]string{`f.yaml:4:52: routes[0].match.path.template: must start with "/"`}},
		{"route two path matches", snippet{route: "{name: orders, service: orders, match: {path: {prefix: /a, exact: /b}}}"},
			[]string{`f.yaml:4:45: routes[0].match.path: exactly one of exact, prefix, regex, template is required, found 2`}},
		{"route empty path match", snippet{route: "{name: orders, service: orders, match: {path: {}}}"},
			[]string{`f.yaml:4:45: routes[0].match.path: exactly one of exact, prefix, regex, template is required, found 0`}},
		{"route bad path regex", snippet{route: "{name: orders, service: orders, match: {path: {regex: \"[\"}}}"},
			[]string{"f.yaml:4:52: routes[0].match.path.regex: invalid Go regular expression: error parsing regexp: missing closing ]: `[`"}},
		{"route template duplicate param", snippet{route: "{name: orders, service: orders, match: {path: {template: \"/u/{id}/{id}\"}}}"},
			[]string{`f.yaml:4:52: routes[0].match.path.template: parameter {id} is used twice`}},
		{"route template partial segment", snippet{route: "{name: orders, service: orders, match: {path: {template: \"/u/x{id}\"}}}"},
			[]string{`f.yaml:4:52: routes[0].match.path.template: segment "x{id}" must be literal or a whole {name} (letters, digits, _)`}},
		{"route path unknown field", snippet{route: "{name: orders, service: orders, match: {path: {prefx: /orders}}}"},
			[]string{
				`f.yaml:4:52: routes[0].match.path.prefx: unknown field "prefx"; valid fields: exact, prefix, regex, template`,
			}},
		{"route match unknown field", snippet{route: "{name: orders, service: orders, match: {host: a}}"},
			[]string{`f.yaml:4:45: routes[0].match.host: unknown field "host"; valid fields: headers, hosts, methods, path, query`}},
		{"route hosts not a list", snippet{route: "{name: orders, service: orders, match: {hosts: a.com}}"},
			[]string{`f.yaml:4:52: routes[0].match.hosts: must be a list`}},
		{"route dangling service", snippet{route: "{name: orders, service: order}"},
			[]string{`f.yaml:4:20: routes[0].service: unknown service "order"; defined: orders`}},
		{"route neither service nor split", snippet{route: "{name: orders}"},
			[]string{`f.yaml:4:5: routes[0]: exactly one of service, split is required, found 0`}},
		{"route service and split", snippet{route: "{name: orders, service: orders, split: [{service: orders}, {service: orders}]}"},
			[]string{`f.yaml:4:5: routes[0]: exactly one of service, split is required, found 2`}},
		{"route split of one", snippet{route: "{name: orders, split: [{service: orders}]}"},
			[]string{`f.yaml:4:20: routes[0].split: needs at least 2 entries, found 1; use service for one`}},
		{"route split bad entries", snippet{route: "{name: orders, split: [{service: orders, weight: 0}, {service: nope, weight: 1001}, {weight: 1}]}"},
			[]string{
				`f.yaml:4:46: routes[0].split[0].weight: must be between 1 and 1000, not 0`,
				`f.yaml:4:59: routes[0].split[1].service: unknown service "nope"; defined: orders`,
				`f.yaml:4:74: routes[0].split[1].weight: must be between 1 and 1000, not 1001`,
				`f.yaml:4:89: routes[0].split[2].service: required: a service name`,
			}},
		{"route negative timeout", snippet{route: "{name: orders, service: orders, timeout: -1s}"},
			[]string{`f.yaml:4:37: routes[0].timeout: must not be negative; 0s means no timeout`}},
		{"route timeout without unit", snippet{route: "{name: orders, service: orders, timeout: 5}"},
			[]string{`f.yaml:4:46: routes[0].timeout: 5 needs a unit, like 5s or 5ms`}},
		{"route timeout not a duration", snippet{route: "{name: orders, service: orders, timeout: soon}"},
			[]string{`f.yaml:4:46: routes[0].timeout: must be a duration like 5s or 250ms, not "soon"`}},
		{"route timeout a list", snippet{route: "{name: orders, service: orders, timeout: [1s]}"},
			[]string{`f.yaml:4:46: routes[0].timeout: must be a duration like 5s or 250ms`}},
		{"route retries attempts", snippet{route: "{name: orders, service: orders, retries: {attempts: 11}}"},
			[]string{`f.yaml:4:47: routes[0].retries.attempts: must be between 0 and 10, not 11`}},
		{"route retries per try timeout", snippet{route: "{name: orders, service: orders, retries: {per_try_timeout: -1s}}"},
			[]string{`f.yaml:4:47: routes[0].retries.per_try_timeout: must not be negative; 0s means no timeout`}},
		{"route retries on", snippet{route: "{name: orders, service: orders, retries: {on: [404, bogus, 503]}}"},
			[]string{
				`f.yaml:4:52: routes[0].retries.on[0]: "404" is not retryable; use connect_failure, reset, refused_stream or a 5xx status`,
				`f.yaml:4:57: routes[0].retries.on[1]: "bogus" is not retryable; use connect_failure, reset, refused_stream or a 5xx status`,
			}},
		{"route retries backoff zero", snippet{route: "{name: orders, service: orders, retries: {backoff: {base: 0s}}}"},
			[]string{`f.yaml:4:57: routes[0].retries.backoff.base: must be a positive duration`}},
		{"route retries backoff max below base", snippet{route: "{name: orders, service: orders, retries: {backoff: {base: 1s, max: 100ms}}}"},
			[]string{`f.yaml:4:67: routes[0].retries.backoff.max: must be at least backoff.base (1s)`}},
		{"route retries non_idempotent", snippet{route: "{name: orders, service: orders, retries: {non_idempotent: maybe}}"},
			[]string{`f.yaml:4:63: routes[0].retries.non_idempotent: must be true or false, not "maybe"`}},
		{"route rewrite exclusive", snippet{route: "{name: orders, service: orders, rewrite: {strip_prefix: /a, path: /b}}"},
			[]string{`f.yaml:4:37: routes[0].rewrite: strip_prefix and path are mutually exclusive`}},
		{"route rewrite no slash", snippet{route: "{name: orders, service: orders, rewrite: {strip_prefix: a}}"},
			[]string{`f.yaml:4:47: routes[0].rewrite.strip_prefix: must start with "/"`}},
		{"route rewrite path no slash", snippet{route: "{name: orders, service: orders, rewrite: {path: a}}"},
			[]string{`f.yaml:4:47: routes[0].rewrite.path: must start with "/"`}},
		{"route rewrite undefined param", snippet{route: "{name: orders, service: orders, match: {path: {template: \"/o/{id}\"}}, rewrite: {path: \"/v2/{id}/{item}\"}}"},
			[]string{`f.yaml:4:85: routes[0].rewrite.path: parameter {item} is not defined by match.path.template`}},
		{"route rewrite bad host", snippet{route: "{name: orders, service: orders, rewrite: {host: \"a b\"}}"},
			[]string{`f.yaml:4:47: routes[0].rewrite.host: "a b" is not a host name or host:port`}},
		{"route request headers", snippet{route: "{name: orders, service: orders, request_headers: {add: {\"a b\": v}, set: {x: \"a\\nb\"}}}"},
			[]string{
				`f.yaml:4:61: routes[0].request_headers.add.a b: "a b" is not a header name token`,
				`f.yaml:4:78: routes[0].request_headers.set.x: header value must not contain CR, LF or NUL`,
			}},
		{"route response headers remove", snippet{route: "{name: orders, service: orders, response_headers: {remove: [\"a b\"]}}"},
			[]string{`f.yaml:4:65: routes[0].response_headers.remove[0]: "a b" is not a header name token`}},
		{"route header map duplicate", snippet{route: "{name: orders, service: orders, request_headers: {add: {x: 1, x: 2}}}"},
			[]string{`f.yaml:4:67: routes[0].request_headers.add.x: duplicate key "x" (first at line 4)`}},
		{"route header map not strings", snippet{route: "{name: orders, service: orders, request_headers: {add: [x]}}"},
			[]string{`f.yaml:4:60: routes[0].request_headers.add: must be a mapping of names to values`}},
		{"route missing name", snippet{route: "{service: orders}"},
			[]string{`f.yaml:4:5: routes[0].name: required: a route name matching ^[a-z0-9_-]+$`}},
		{"route duplicate name", snippet{route: "{name: orders, service: orders}\n  - {name: orders, service: orders}"},
			[]string{`f.yaml:5:6: routes[1].name: duplicate route name "orders"`}},
		{"route unknown field", snippet{route: "{name: orders, service: orders, upstream: x}"},
			[]string{`f.yaml:4:37: routes[0].upstream: unknown field "upstream"; valid fields: listeners, match, name, policies, request_headers, response_headers, retries, rewrite, service, split, timeout`}},

		// services
		{"service no endpoints", snippet{service: "{name: orders, endpoints: []}"},
			[]string{`f.yaml:6:20: services[0].endpoints: at least one endpoint (host:port) is required`}},
		{"service endpoint bad port", snippet{service: "{name: orders, endpoints: [\"x:0\"]}"},
			[]string{`f.yaml:6:32: services[0].endpoints[0]: "x:0": port must be 1..65535`}},
		{"service endpoint weight", snippet{service: "{name: orders, endpoints: [{address: 127.0.0.1:1, weight: 1001}]}"},
			[]string{`f.yaml:6:55: services[0].endpoints[0].weight: must be between 1 and 1000, not 1001`}},
		{"service endpoint wrong shape", snippet{service: "{name: orders, endpoints: [[1]]}"},
			[]string{`f.yaml:6:32: services[0].endpoints[0]: must be host:port or a mapping with fields: address, weight`}},
		{"service endpoint unknown field", snippet{service: "{name: orders, endpoints: [{addr: 127.0.0.1:1}]}"},
			[]string{
				`f.yaml:6:32: services[0].endpoints[0]: "" is not host:port (like 127.0.0.1:8080 or example.com:443)`,
				`f.yaml:6:33: services[0].endpoints[0].addr: unknown field "addr"; valid fields: address, weight`,
			}},
		{"service protocol", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], protocol: h3}"},
			[]string{`f.yaml:6:49: services[0].protocol: "h3" is not valid; use one of: http1, h2c, h2, grpc`}},
		{"service h2 without tls", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], protocol: h2}"},
			[]string{`f.yaml:6:49: services[0].protocol: h2 requires tls; use h2c for HTTP/2 without TLS`}},
		{"service tls missing ca", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], tls: {ca: ca.pem}}"},
			[]string{`f.yaml:6:55: services[0].tls.ca: read CA bundle: open ca.pem: no such file or directory`}},
		{"service tls cert without key", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], tls: {cert: c.pem}}"},
			[]string{`f.yaml:6:49: services[0].tls.key: required: path of a PEM private key (with cert)`}},
		{"service tls unknown field", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], tls: {sni: x}}"},
			[]string{`f.yaml:6:55: services[0].tls.sni: unknown field "sni"; valid fields: ca, cert, insecure_skip_verify, key, server_name`}},
		{"service balancer", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], balancer: fastest}"},
			[]string{`f.yaml:6:49: services[0].balancer: "fastest" is not valid; use one of: round_robin, weighted_round_robin, random, least_request, peak_ewma, ring_hash, maglev`}},
		{"service ring_hash without hash_on", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], balancer: ring_hash}"},
			[]string{`f.yaml:6:5: services[0].hash_on: required for balancer ring_hash: one of header, cookie, client_ip: true`}},
		{"service hash_on without hashing", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], hash_on: {header: x}}"},
			[]string{`f.yaml:6:49: services[0].hash_on: only valid with balancer ring_hash or maglev, not round_robin`}},
		{"service hash_on two keys", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], balancer: maglev, hash_on: {header: x, cookie: y}}"},
			[]string{`f.yaml:6:67: services[0].hash_on: exactly one of header, cookie, client_ip: true is required, found 2`}},
		{"service hash_on bad header", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], balancer: maglev, hash_on: {header: \"a b\"}}"},
			[]string{`f.yaml:6:77: services[0].hash_on.header: "a b" is not a header name token`}},
		{"service active check kind", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {}}}"},
			[]string{`f.yaml:6:58: services[0].health.active: exactly one of http, grpc, tcp is required, found 0`}},
		{"service active timeout", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {tcp: {}, interval: 1s, timeout: 1s}}}"},
			[]string{`f.yaml:6:90: services[0].health.active.timeout: must be less than interval (1s)`}},
		{"service active zero", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {tcp: {}, interval: 0s, timeout: 0s}}}"},
			[]string{
				`f.yaml:6:76: services[0].health.active.interval: must be a positive duration`,
				`f.yaml:6:90: services[0].health.active.timeout: must be a positive duration`,
				`f.yaml:6:90: services[0].health.active.timeout: must be less than interval (0s)`,
			}},
		{"service active thresholds", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {tcp: {}, healthy_threshold: 0, unhealthy_threshold: 101}}}"},
			[]string{
				`f.yaml:6:76: services[0].health.active.healthy_threshold: must be between 1 and 100, not 0`,
				`f.yaml:6:98: services[0].health.active.unhealthy_threshold: must be between 1 and 100, not 101`,
			}},
		{"service active http", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {http: {path: x, expected_statuses: [99, 600]}}}}"},
			[]string{
				`f.yaml:6:74: services[0].health.active.http.path: must start with "/"`,
				`f.yaml:6:103: services[0].health.active.http.expected_statuses[0]: must be between 100 and 599, not 99`,
				`f.yaml:6:107: services[0].health.active.http.expected_statuses[1]: must be between 100 and 599, not 600`,
			}},
		{"service active http no statuses", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {http: {expected_statuses: []}}}}"},
			[]string{`f.yaml:6:74: services[0].health.active.http.expected_statuses: at least one status is required`}},
		{"service active two kinds", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {tcp: {}, grpc: {}}}}"},
			[]string{`f.yaml:6:58: services[0].health.active: exactly one of http, grpc, tcp is required, found 2`}},
		{"service outlier", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {outlier: {consecutive_5xx: 0, consecutive_connect_failures: 0, base_ejection_time: 60s, max_ejection_time: 30s}}}"},
			[]string{
				`f.yaml:6:68: services[0].health.outlier.consecutive_5xx: must be a positive count`,
				`f.yaml:6:88: services[0].health.outlier.consecutive_connect_failures: must be a positive count`,
				`f.yaml:6:146: services[0].health.outlier.max_ejection_time: must be at least base_ejection_time (1m0s)`,
			}},
		{"service outlier percent and interval", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {outlier: {max_ejection_percent: 101, interval: 0s, base_ejection_time: 0s}}}"},
			[]string{
				`f.yaml:6:68: services[0].health.outlier.max_ejection_percent: must be between 0 and 100, not 101`,
				`f.yaml:6:95: services[0].health.outlier.interval: must be a positive duration`,
				`f.yaml:6:109: services[0].health.outlier.base_ejection_time: must be a positive duration`,
			}},
		{"service panic threshold and slow start", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {panic_threshold: 101, slow_start: -1s}}"},
			[]string{
				`f.yaml:6:58: services[0].health.panic_threshold: must be between 0 and 100, not 101`,
				`f.yaml:6:80: services[0].health.slow_start: must not be negative; 0s means none`,
			}},
		{"service circuit breaker", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], circuit_breaker: {max_connections: 0, max_pending: 0, max_requests: 0, max_retries: 0}}"},
			[]string{
				`f.yaml:6:67: services[0].circuit_breaker.max_connections: must be a positive count`,
				`f.yaml:6:87: services[0].circuit_breaker.max_pending: must be a positive count`,
				`f.yaml:6:103: services[0].circuit_breaker.max_requests: must be a positive count`,
				`f.yaml:6:120: services[0].circuit_breaker.max_retries: must be a positive count`,
			}},
		{"service retry budget", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], retry_budget: {percent: 150, min_per_second: -1}}"},
			[]string{
				`f.yaml:6:64: services[0].retry_budget.percent: must be between 0 and 100, not 150`,
				`f.yaml:6:78: services[0].retry_budget.min_per_second: must not be negative`,
			}},
		{"service pool", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], pool: {max_idle_per_endpoint: -1, idle_timeout: 0s, connect_timeout: 0s}}"},
			[]string{
				`f.yaml:6:56: services[0].pool.max_idle_per_endpoint: must not be negative; 0 keeps no idle connections`,
				`f.yaml:6:83: services[0].pool.idle_timeout: must be a positive duration`,
				`f.yaml:6:101: services[0].pool.connect_timeout: must be a positive duration`,
			}},
		{"service dns refresh", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], dns_refresh: 0s}"},
			[]string{`f.yaml:6:49: services[0].dns_refresh: must be a positive duration`}},
		{"service bad name", snippet{service: "{name: Orders, endpoints: [127.0.0.1:9001]}", route: "{name: orders, service: Orders}"},
			[]string{`f.yaml:6:6: services[0].name: "Orders" is not a valid service name; use ^[a-z0-9_.-]+$`}},
		{"service duplicate name", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001]}\n  - {name: orders, endpoints: [127.0.0.1:9002]}"},
			[]string{`f.yaml:7:6: services[1].name: duplicate service name "orders"`}},
		{"service calls", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], calls: {timeout: -1s, retries: {attempts: 11, on: [404]}, tcp_idle_timeout: 0s}}"},
			[]string{
				`f.yaml:6:57: services[0].calls.timeout: must not be negative; 0s means no timeout`,
				`f.yaml:6:81: services[0].calls.retries.attempts: must be between 0 and 10, not 11`,
				`f.yaml:6:100: services[0].calls.retries.on[0]: "404" is not retryable; use connect_failure, reset, refused_stream or a 5xx status`,
				`f.yaml:6:107: services[0].calls.tcp_idle_timeout: must be a positive duration`,
			}},
		{"service unknown field", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], lb: random}"},
			[]string{`f.yaml:6:49: services[0].lb: unknown field "lb"; valid fields: balancer, calls, circuit_breaker, dns_refresh, endpoints, hash_on, health, mtls, name, pool, protocol, retry_budget, tls`}},

		// top level
		{"admin address", snippet{top: "admin: {address: 0.0.0.0}"},
			[]string{`f.yaml:7:9: admin.address: "0.0.0.0" is not host:port (like 127.0.0.1:8080 or example.com:443), or "off"`}},
		{"access log", snippet{top: "access_log: {path: \"\", sample: 2}"},
			[]string{
				`f.yaml:7:14: access_log.path: required: stdout, stderr, off or a file path`,
				`f.yaml:7:24: access_log.sample: must be between 0 and 1, not 2`,
			}},
		{"access log sample not a number", snippet{top: "access_log: {sample: half}"},
			[]string{`f.yaml:7:22: access_log.sample: must be a number, not "half"`}},
		{"trusted proxies", snippet{top: "trusted_proxies: [10.0.0.0/33, 1.2.3.4, 10.0.0.0/8, bad]"},
			[]string{
				`f.yaml:7:19: trusted_proxies[0]: must be a CIDR like 10.0.0.0/8 or an IP, not "10.0.0.0/33"`,
				`f.yaml:7:53: trusted_proxies[3]: must be a CIDR like 10.0.0.0/8 or an IP, not "bad"`,
			}},
		{"unknown top-level field", snippet{top: "router: {}"},
			[]string{`f.yaml:7:1: router: unknown field "router"; valid fields: access_log, admin, authorization_policies, consumers, listeners, policies, routes, services, trusted_proxies`}},
		{"duplicate top-level key", snippet{top: "services: []"},
			[]string{`f.yaml:7:1: services: duplicate key "services" (first at line 5)`}},
		{"merge key", snippet{top: "<<: {admin: {address: off}}"},
			[]string{`f.yaml:7:1: <<: merge keys (<<) are not supported; write the fields out`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.in.String()))
			if diff := cmp.Diff(tc.want, errLines(t, err)); diff != "" {
				t.Errorf("Parse errors (-want +got):\n%s\ninput:\n%s", diff, tc.in)
			}
		})
	}
}

func TestParseInvalidDocument(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{`f.yaml: file is empty; at least listeners, routes and services are needed`}},
		{"only comments", "# nothing\n", []string{`f.yaml: file is empty; at least listeners, routes and services are needed`}},
		{"null document", "---\n~\n", []string{`f.yaml:2:1: file is empty; at least listeners, routes and services are needed`}},
		{"two documents", snippet{}.String() + "---\nadmin: {}\n", []string{`f.yaml:7:1: more than one YAML document; put the whole config in one document`}},
		{"syntax error", "listeners: [\n", []string{`f.yaml:1: did not find expected node content`}},
		{"tab indentation", "listeners:\n\t- name: web\n", []string{`f.yaml:2: found character that cannot start any token`}},
		{"root is a list", "- a\n", []string{`f.yaml:1:1: must be a mapping with fields: access_log, admin, authorization_policies, consumers, listeners, policies, routes, services, trusted_proxies`}},
		{"no listeners or routes", "services: []\n", []string{
			`f.yaml: listeners: at least one listener is required`,
			`f.yaml: routes: at least one route is required`,
		}},
		{"listeners not a list", "listeners: web\nroutes: []\n", []string{
			`f.yaml:1:12: listeners: must be a list`,
			`f.yaml:2:1: routes: at least one route is required`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.in))
			if diff := cmp.Diff(tc.want, errLines(t, err)); diff != "" {
				t.Errorf("Parse errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	// 1000 routes, each an alias of one route with 1000 aliased header
	// matches: a few KB of YAML that would expand to millions of nodes.
	hs := strings.TrimSuffix(strings.Repeat("*h, ", 1000), ", ")
	rs := strings.TrimSuffix(strings.Repeat("*r, ", 1000), ", ")
	in := "listeners: [{name: web, address: 127.0.0.1:8080}]\n" +
		"services: [{name: s, endpoints: [127.0.0.1:1]}]\n" +
		"routes: [&r {name: r, service: s, match: {headers: [&h {name: a, present: true}, " + hs + "]}}, " + rs + "]\n"
	_, err := Parse("f.yaml", []byte(in))
	want := []string{`f.yaml:3:53: aliases expand to more than 100000 values (at routes[33].match.headers[246]); write the config out`}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("Parse errors (-want +got):\n%s", diff)
	}
}
