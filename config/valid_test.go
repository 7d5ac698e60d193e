package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// minimal is the smallest useful config; it must parse with no error.
const minimal = `listeners:
  - name: web
    address: 127.0.0.1:8080
routes:
  - name: orders
    match:
      path: { prefix: /orders }
    service: orders
services:
  - name: orders
    endpoints: [127.0.0.1:9001, 127.0.0.1:9002]
`

func dur(s string) Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return Duration(d)
}

// defaultRoute and defaultService are route and service with every default.
func defaultRoute(name, service, prefix string) Route {
	return Route{
		Name: name, Service: service,
		Match:   Match{Path: PathMatch{Prefix: prefix}},
		Timeout: dur("15s"),
		Retries: Retries{
			Attempts: 2,
			On:       []string{"connect_failure", "reset", "refused_stream", "502", "503", "504"},
			Backoff:  Backoff{Base: dur("25ms"), Max: dur("250ms")},
		},
	}
}

func defaultService(name string, addrs ...string) Service {
	s := Service{
		Name: name, Protocol: "http1", Balancer: "round_robin",
		Health: Health{
			Outlier: Outlier{
				Consecutive5xx: 5, ConsecutiveConnectFailures: 5,
				BaseEjectionTime: dur("30s"), MaxEjectionTime: dur("300s"),
				MaxEjectionPercent: 50, Interval: dur("10s"),
			},
			PanicThreshold: 50,
		},
		CircuitBreaker: CircuitBreaker{MaxConnections: 1024, MaxPending: 1024, MaxRequests: 1024, MaxRetries: 256},
		RetryBudget:    RetryBudget{Percent: 20, MinPerSecond: 3},
		Pool:           Pool{MaxIdlePerEndpoint: 128, IdleTimeout: dur("90s"), ConnectTimeout: dur("5s")},
		DNSRefresh:     dur("30s"),
		MTLS:           MTLSStrict,
	}
	for _, a := range addrs {
		s.Endpoints = append(s.Endpoints, Endpoint{Address: a, Weight: 1})
	}
	return s
}

var defaultLimits = Limits{
	MaxHeaderBytes: 32 << 10, MaxURIBytes: 8 << 10, MaxHeaders: 100, MaxBodyBytes: 64 << 20,
	ReadHeaderTimeout: dur("10s"), BodyReadTimeout: dur("30s"), IdleTimeout: dur("60s"),
	MaxConnections: 10000,
}

func TestParseMinimal(t *testing.T) {
	got, err := Parse("pylon.yaml", []byte(minimal))
	if err != nil {
		t.Fatalf("Parse: got error %v, want nil", err)
	}
	want := &Config{
		Admin:     Admin{Address: "127.0.0.1:9901"},
		AccessLog: AccessLog{Path: "stdout", Sample: 1},
		Listeners: []Listener{{Name: "web", Address: "127.0.0.1:8080", Limits: defaultLimits}},
		Routes:    []Route{defaultRoute("orders", "orders", "/orders")},
		Services:  []Service{defaultService("orders", "127.0.0.1:9001", "127.0.0.1:9002")},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	if got.Dir() != "." {
		t.Errorf("Dir: got %q, want %q", got.Dir(), ".")
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		in   snippet
		get  func(*Config) any
		want any
	}{
		{"route path defaults to prefix /", snippet{},
			func(c *Config) any { return c.Routes[0].Match.Path }, PathMatch{Prefix: "/"}},
		{"route explicit zeros are kept", snippet{route: "{name: orders, service: orders, timeout: 0s, retries: {attempts: 0, on: []}}"},
			func(c *Config) any {
				return []any{c.Routes[0].Timeout, c.Routes[0].Retries.Attempts, c.Routes[0].Retries.On}
			},
			[]any{Duration(0), 0, []string{}}},
		{"route retry on accepts integers", snippet{route: "{name: orders, service: orders, retries: {on: [reset, 500, \"599\"]}}"},
			func(c *Config) any { return c.Routes[0].Retries.On }, []string{"reset", "500", "599"}},
		{"route hosts lowercased and methods upper-cased", snippet{route: "{name: orders, service: orders, match: {hosts: [API.Example.com, \"*.Example.com\"], methods: [get, Post]}}"},
			func(c *Config) any { return []any{c.Routes[0].Match.Hosts, c.Routes[0].Match.Methods} },
			[]any{[]string{"api.example.com", "*.example.com"}, []string{"GET", "POST"}}},
		{"route full match", snippet{route: "{name: orders, service: orders, listeners: [web], match: {path: {template: \"/u/{id}/items/{item}\"}, headers: [{name: x-env, exact: canary}, {name: x-v, regex: \"^v[0-9]$\"}], query: [{name: debug, present: true}]}, rewrite: {path: \"/v2/{item}/{id}\", host: orders.internal}}"},
			func(c *Config) any { return []any{c.Routes[0].Listeners, c.Routes[0].Match, c.Routes[0].Rewrite} },
			[]any{[]string{"web"}, Match{
				Path:    PathMatch{Template: "/u/{id}/items/{item}"},
				Headers: []ValueMatch{{Name: "x-env", Exact: "canary"}, {Name: "x-v", Regex: "^v[0-9]$"}},
				Query:   []ValueMatch{{Name: "debug", Present: true}},
			}, Rewrite{Path: "/v2/{item}/{id}", Host: "orders.internal"}}},
		{"route split", snippet{
			route:   "{name: orders, split: [{service: orders, weight: 90}, {service: orders-v2}]}",
			service: "{name: orders, endpoints: [127.0.0.1:9001]}\n  - {name: orders-v2, endpoints: [127.0.0.1:9002]}"},
			func(c *Config) any { return c.Routes[0].Split },
			[]SplitEntry{{Service: "orders", Weight: 90}, {Service: "orders-v2", Weight: 1}}},
		{"route retries and headers", snippet{route: "{name: orders, service: orders, retries: {per_try_timeout: 2s, non_idempotent: true, backoff: {base: 10ms, max: 1s}}, request_headers: {add: {x-a: \"1\"}, set: {x-b: two}, remove: [x-c]}, response_headers: {remove: [server]}}"},
			func(c *Config) any {
				r := c.Routes[0]
				return []any{r.Retries.PerTryTimeout, r.Retries.NonIdempotent, r.Retries.Backoff, r.RequestHeaders, r.ResponseHeaders}
			},
			[]any{dur("2s"), true, Backoff{Base: dur("10ms"), Max: dur("1s")},
				HeaderOps{Add: map[string]string{"x-a": "1"}, Set: map[string]string{"x-b": "two"}, Remove: []string{"x-c"}},
				HeaderOps{Remove: []string{"server"}}}},
		{"endpoints in both forms", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001, {address: orders.internal:9002, weight: 3}, {address: \"[::1]:9003\"}]}"},
			func(c *Config) any { return c.Services[0].Endpoints },
			[]Endpoint{{Address: "127.0.0.1:9001", Weight: 1}, {Address: "orders.internal:9002", Weight: 3}, {Address: "[::1]:9003", Weight: 1}}},
		{"listener limits with units", snippet{listener: "{name: web, address: 127.0.0.1:8080, limits: {max_header_bytes: 1048576, max_uri_bytes: 512B, max_body_bytes: 10MB, max_headers: 7, idle_timeout: 1m30s}}"},
			func(c *Config) any { return c.Listeners[0].Limits },
			Limits{MaxHeaderBytes: 1 << 20, MaxURIBytes: 512, MaxHeaders: 7, MaxBodyBytes: 10e6,
				ReadHeaderTimeout: dur("10s"), BodyReadTimeout: dur("30s"), IdleTimeout: dur("90s"), MaxConnections: 10000}},
		{"admin off, access log sampled, trusted proxies", snippet{top: "admin: {address: off}\naccess_log: {path: /var/log/pylon.log, sample: 0}\ntrusted_proxies: [10.0.0.0/8, \"::1\"]"},
			func(c *Config) any { return []any{c.Admin, c.AccessLog, c.TrustedProxies} },
			[]any{Admin{Address: "off"}, AccessLog{Path: "/var/log/pylon.log", Sample: 0}, []string{"10.0.0.0/8", "::1"}}},
		{"active http check defaults", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {http: {}}, slow_start: 30s, panic_threshold: 0}}"},
			func(c *Config) any {
				return []any{*c.Services[0].Health.Active, c.Services[0].Health.SlowStart, c.Services[0].Health.PanicThreshold}
			},
			[]any{ActiveHealth{Interval: dur("5s"), Timeout: dur("1s"), HealthyThreshold: 2, UnhealthyThreshold: 3,
				HTTP: &HTTPCheck{Path: "/healthz", ExpectedStatuses: []int{200}}}, dur("30s"), 0}},
		{"active tcp and grpc checks", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {tcp: {}}}}\n  - {name: b, endpoints: [127.0.0.1:9002], protocol: grpc, health: {active: {grpc: {service: x}, interval: 2s, timeout: 500ms}}}"},
			func(c *Config) any { return []any{c.Services[0].Health.Active.TCP, *c.Services[1].Health.Active} },
			[]any{&TCPCheck{}, ActiveHealth{Interval: dur("2s"), Timeout: dur("500ms"), HealthyThreshold: 2, UnhealthyThreshold: 3, GRPC: &GRPCCheck{Service: "x"}}}},
		{"outlier disabled ignores its limits", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {outlier: {disabled: true, consecutive_5xx: 0}}}"},
			func(c *Config) any {
				return []any{c.Services[0].Health.Outlier.Disabled, c.Services[0].Health.Outlier.Consecutive5xx}
			},
			[]any{true, 0}},
		{"ring hash on client ip", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], balancer: ring_hash, hash_on: {client_ip: true}}"},
			func(c *Config) any { return []any{c.Services[0].Balancer, c.Services[0].HashOn} },
			[]any{"ring_hash", &HashOn{ClientIP: true}}},
		{"service tuning", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], protocol: h2c, balancer: least_request, circuit_breaker: {max_requests: 10}, retry_budget: {percent: 0, min_per_second: 0}, pool: {max_idle_per_endpoint: 0, connect_timeout: 1s}, dns_refresh: 5s}"},
			func(c *Config) any {
				s := c.Services[0]
				return []any{s.Protocol, s.Balancer, s.CircuitBreaker, s.RetryBudget, s.Pool, s.DNSRefresh}
			},
			[]any{"h2c", "least_request", CircuitBreaker{MaxConnections: 1024, MaxPending: 1024, MaxRequests: 10, MaxRetries: 256},
				RetryBudget{}, Pool{IdleTimeout: dur("90s"), ConnectTimeout: dur("1s")}, dur("5s")}},
		{"anchors and aliases", snippet{route: "{name: orders, service: orders, match: {methods: &m [GET]}}\n  - {name: b, service: orders, match: {methods: *m}}"},
			func(c *Config) any { return c.Routes[1].Match.Methods }, []string{"GET"}},
		{"empty values mean the default", snippet{route: "{name: orders, service: orders, timeout: ~, listeners: ~, retries: {on: ~}}"},
			func(c *Config) any { return []any{c.Routes[0].Timeout, c.Routes[0].Listeners, c.Routes[0].Retries.On} },
			[]any{dur("15s"), []string(nil), DefaultRetryOn}},
		{"empty optional section switches it on", snippet{service: "{name: orders, endpoints: [127.0.0.1:9001], health: {active: {tcp: ~}}}"},
			func(c *Config) any { return c.Services[0].Health.Active.TCP }, &TCPCheck{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tc.in.String()))
			if err != nil {
				t.Fatalf("Parse: got error\n%v\nwant nil; input:\n%s", err, tc.in)
			}
			if diff := cmp.Diff(tc.want, tc.get(c)); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServiceCallsDefaults checks that a calls block gets a route's retry
// defaults and the TCP idle timeout, keeps what was written (zeros
// included), and that a service without one keeps none.
func TestServiceCallsDefaults(t *testing.T) {
	c, err := Parse("f.yaml", []byte(`listeners: [{name: web, address: 127.0.0.1:8080}]
routes: [{name: r, service: a}]
services:
  - {name: a, endpoints: [127.0.0.1:9001], calls: {timeout: 2s}}
  - {name: b, endpoints: [127.0.0.1:9002], calls: {retries: {attempts: 0}, tcp_idle_timeout: 5m}}
  - {name: c, endpoints: [127.0.0.1:9003]}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []*MeshCalls{
		{Timeout: dur("2s"), Retries: defaultRoute("", "", "/").Retries, TCPIdleTimeout: dur("1h")},
		{Retries: Retries{Attempts: 0, On: DefaultRetryOn, Backoff: Backoff{Base: dur("25ms"), Max: dur("250ms")}}, TCPIdleTimeout: dur("5m")},
		nil,
	}
	for i, w := range want {
		if diff := cmp.Diff(w, c.Services[i].Calls); diff != "" {
			t.Errorf("services[%d].calls (-want +got):\n%s", i, diff)
		}
	}
}
