package policy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/ratelimit"
)

// request is a Request built in the test.
type request struct {
	header map[string]string
	query  map[string]string
	ip     netip.Addr
}

func (r *request) Header(name string) (string, bool) { v, ok := r.header[name]; return v, ok }
func (r *request) Query(name string) (string, bool)  { v, ok := r.query[name]; return v, ok }
func (r *request) HeaderBytes(name string) ([]byte, bool) {
	v, ok := r.header[name]
	return []byte(v), ok
}
func (r *request) ClientIP() netip.Addr { return r.ip }

func req(header ...string) *request {
	r := &request{header: map[string]string{}, query: map[string]string{}, ip: netip.MustParseAddr("192.0.2.7")}
	for i := 0; i+1 < len(header); i += 2 {
		r.header[header[i]] = header[i+1]
	}
	return r
}

const (
	acmeKey   = "acme-key-0123456789"
	globexKey = "globex-key-0123456789"
	issuer    = "https://id.example"
)

// signer makes ES256 tokens whose key is in the JWKS file it writes.
type signer struct {
	key  *ecdsa.PrivateKey
	jwks string
}

func newSigner(t testing.TB) *signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &signer{key: k, jwks: path}
}

func (s *signer) token(t testing.TB, sub string, exp time.Time) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: issuer, Subject: sub, Expiry: jwt.NewNumericDate(exp)}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// compileSet parses a config document's policies and consumers (routes and
// services are added) and compiles them with env.
func compileSet(t testing.TB, doc string, env Env) *Set {
	t.Helper()
	full := "listeners: [{name: web, address: 127.0.0.1:8080}]\nroutes: [{name: r, service: s}]\nservices: [{name: s, endpoints: [127.0.0.1:9001]}]\n" + doc
	cfg, err := config.Parse("p.yaml", []byte(full))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if env.Local == nil {
		env.Local = ratelimit.NewLocal(0)
	}
	s, err := Compile(cfg, env)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

// result is what a check did, in comparable form.
type result struct {
	Status    int
	Code      flow.Code
	Header    []flow.Field
	Consumer  string
	Strip     string
	StripQ    string
	Limit     LimitState
	ErrSubstr bool
}

func check(t *testing.T, c *Chain, r Request) result {
	t.Helper()
	var o Outcome
	fe := c.Check(context.Background(), r, &o)
	if fe == nil {
		return result{Consumer: o.Consumer, Strip: o.StripHeader, StripQ: o.StripQuery, Limit: o.Limit}
	}
	return result{Status: fe.Status, Code: fe.Code, Header: fe.Header}
}

func TestAuthentication(t *testing.T) {
	sg := newSigner(t)
	set := compileSet(t, `
consumers:
  - {name: acme, api_keys: [`+acmeKey+`]}
  - {name: globex, api_keys: [`+globexKey+`]}
policies:
  - name: keys
    authentication: {api_key: {header: X-API-Key, query: api_key}}
  - name: forwarding
    authentication: {api_key: {}, forward_credentials: true}
  - name: either
    authentication: {api_key: {}, jwt: {issuer: `+issuer+`, jwks_file: `+sg.jwks+`}}
  - name: acme-only
    authentication: {api_key: {}}
    allow_consumers: [acme]
`, Env{})
	both := []flow.Field{{Name: "WWW-Authenticate", Value: `ApiKey realm="pylon"`}, {Name: "WWW-Authenticate", Value: `Bearer realm="pylon"`}}
	query := req()
	query.query["api_key"] = acmeKey
	valid := sg.token(t, "acme", time.Now().Add(time.Hour))
	expired := sg.token(t, "acme", time.Now().Add(-time.Hour))
	tests := []struct {
		name   string
		policy string
		req    *request
		want   result
	}{
		{"key in header", "keys", req("x-api-key", acmeKey), result{Consumer: "acme", Strip: "x-api-key"}},
		{"key in query", "keys", query, result{Consumer: "acme", StripQ: "api_key"}},
		{"wrong key", "keys", req("x-api-key", "not-a-key-of-anyone"), result{Status: 401, Code: flow.CodeInvalidCredentials,
			Header: []flow.Field{{Name: "WWW-Authenticate", Value: `ApiKey realm="pylon"`}}}},
		{"no key", "keys", req(), result{Status: 401, Code: flow.CodeUnauthenticated,
			Header: []flow.Field{{Name: "WWW-Authenticate", Value: `ApiKey realm="pylon"`}}}},
		{"credentials forwarded", "forwarding", req("x-api-key", globexKey), result{Consumer: "globex"}},
		{"token", "either", req("authorization", "Bearer "+valid), result{Consumer: "acme", Strip: "authorization"}},
		{"scheme is case-insensitive", "either", req("authorization", "bEaReR "+valid), result{Consumer: "acme", Strip: "authorization"}},
		{"expired token", "either", req("authorization", "Bearer "+expired, "x-api-key", acmeKey), result{Status: 401, Code: flow.CodeInvalidCredentials,
			Header: []flow.Field{{Name: "WWW-Authenticate", Value: `ApiKey realm="pylon"`}, {Name: "WWW-Authenticate", Value: `Bearer realm="pylon", error="invalid_token", error_description="the token is not valid: token has expired"`}}}},
		{"basic credentials are not a token", "either", req("authorization", "Basic YTpi", "x-api-key", globexKey), result{Consumer: "globex", Strip: "x-api-key"}},
		{"nothing", "either", req(), result{Status: 401, Code: flow.CodeUnauthenticated, Header: both}},
		{"allowed consumer", "acme-only", req("x-api-key", acmeKey), result{Consumer: "acme", Strip: "x-api-key"}},
		{"other consumer", "acme-only", req("x-api-key", globexKey), result{Status: 403, Code: flow.CodeForbidden}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := check(t, set.Chain([]string{tc.policy}), tc.req)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("check (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	set := compileSet(t, `
consumers:
  - {name: acme, api_keys: [`+acmeKey+`]}
  - {name: gold, api_keys: [`+globexKey+`], rate_limit: {requests: 3, per: 1h}}
policies:
  - {name: per-ip, rate_limit: {requests: 2, per: 1h}}
  - {name: per-tenant, rate_limit: {requests: 1, per: 1h, by: header, header: X-Tenant}}
  - {name: auth, authentication: {api_key: {}}}
  - {name: per-consumer, rate_limit: {requests: 1, per: 1h, by: consumer}}
`, Env{})
	limited := func() result {
		return result{Status: 429, Code: flow.CodeRateLimited, Header: []flow.Field{
			{Name: "RateLimit-Limit", Value: "2"}, {Name: "RateLimit-Remaining", Value: "0"},
			{Name: "RateLimit-Reset", Value: "3600"}, {Name: "Retry-After", Value: "1800"}}}
	}
	perIP := set.Chain([]string{"per-ip"})
	got := []result{check(t, perIP, req()), check(t, perIP, req()), check(t, perIP, req())}
	other := req()
	other.ip = netip.MustParseAddr("2001:db8::1")
	got = append(got, check(t, perIP, other))
	want := []result{
		{Limit: LimitState{Limit: 2, Remaining: 1, ResetSeconds: 1800}},
		{Limit: LimitState{Limit: 2, Remaining: 0, ResetSeconds: 3600}},
		limited(),
		{Limit: LimitState{Limit: 2, Remaining: 1, ResetSeconds: 1800}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per client IP (-want +got):\n%s", diff)
	}

	perTenant := set.Chain([]string{"per-tenant"})
	codes := []int{
		check(t, perTenant, req("x-tenant", "a")).Status, check(t, perTenant, req("x-tenant", "a")).Status,
		check(t, perTenant, req("x-tenant", "b")).Status, check(t, perTenant, req()).Status, check(t, perTenant, req()).Status,
	}
	if diff := cmp.Diff([]int{0, 429, 0, 0, 429}, codes); diff != "" {
		t.Errorf("per header: statuses (-want +got), 0 is passed:\n%s", diff)
	}

	perConsumer := set.Chain([]string{"auth", "per-consumer"})
	codes = nil
	for range 4 {
		codes = append(codes, check(t, perConsumer, req("x-api-key", acmeKey)).Status, check(t, perConsumer, req("x-api-key", globexKey)).Status)
	}
	// acme has the policy's 1 per hour, gold its own 3.
	if diff := cmp.Diff([]int{0, 0, 429, 0, 429, 0, 429, 429}, codes); diff != "" {
		t.Errorf("per consumer, acme and gold in turn (-want +got), 0 is passed:\n%s", diff)
	}
}

// TestRateLimitStoreDown uses a real Redis client pointed at a port nothing
// listens on: a Redis that cannot be reached.
func TestRateLimitStoreDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer client.Close()
	var failed []string
	env := Env{
		Redis:       func(string) ratelimit.Limiter { return ratelimit.NewRedis(client, "t:") },
		StoreFailed: func(policy string, err error) { failed = append(failed, policy) },
	}
	set := compileSet(t, `
policies:
  - {name: open, rate_limit: {requests: 1, per: 1h, redis: `+addr+`}}
  - {name: closed, rate_limit: {requests: 1, per: 1h, redis: `+addr+`, on_error: deny}}
`, env)
	got := []result{check(t, set.Chain([]string{"open"}), req()), check(t, set.Chain([]string{"closed"}), req())}
	want := []result{{}, {Status: 503, Code: flow.CodeRateLimitUnavailable}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redis down (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"open", "closed"}, failed); diff != "" {
		t.Errorf("store failures reported (-want +got):\n%s", diff)
	}
}

func TestJWKSNeverFetched(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	set := compileSet(t, `
policies:
  - {name: jwt, authentication: {jwt: {issuer: `+issuer+`, jwks_url: "http://`+addr+`/jwks.json"}}}
`, Env{})
	got := check(t, set.Chain([]string{"jwt"}), req("authorization", "Bearer "+newSigner(t).token(t, "a", time.Now().Add(time.Hour))))
	if diff := cmp.Diff(result{Status: 503, Code: flow.CodeAuthUnavailable}, got); diff != "" {
		t.Errorf("check (-want +got):\n%s", diff)
	}
}

func TestLimitStateHeaders(t *testing.T) {
	s := LimitState{Limit: 100, Remaining: 42, ResetSeconds: 7}
	if got, want := string(s.AppendHeader(nil)), "RateLimit-Limit: 100\r\nRateLimit-Remaining: 42\r\nRateLimit-Reset: 7\r\n"; got != want {
		t.Errorf("AppendHeader: got %q, want %q", got, want)
	}
	h := http.Header{}
	s.SetHeader(h)
	if diff := cmp.Diff(http.Header{"RateLimit-Limit": {"100"}, "RateLimit-Remaining": {"42"}, "RateLimit-Reset": {"7"}}, h); diff != "" {
		t.Errorf("SetHeader (-want +got):\n%s", diff)
	}
	var none LimitState
	if got := none.AppendHeader(nil); len(got) != 0 {
		t.Errorf("AppendHeader of no limit: got %q, want nothing", got)
	}
}

func TestQuoted(t *testing.T) {
	if got, want := quoted("a \"b\" \\ c\x01\xff"), `"a \"b\" \\ c"`; got != want {
		t.Errorf("quoted: got %s, want %s", got, want)
	}
	if strings.Contains(quoted("x\r\ny"), "\n") {
		t.Errorf("quoted keeps a line break")
	}
}

func BenchmarkCheck(b *testing.B) {
	sg := newSigner(b)
	set := compileSet(b, `
consumers:
  - {name: acme, api_keys: [`+acmeKey+`]}
policies:
  - {name: key, authentication: {api_key: {}}}
  - {name: jwt, authentication: {jwt: {issuer: `+issuer+`, jwks_file: `+sg.jwks+`}}}
  - {name: limit, rate_limit: {requests: 1000000000, per: 1s}}
`, Env{})
	for _, bc := range []struct {
		name   string
		chain  []string
		header []string
	}{
		{"api_key", []string{"key"}, []string{"x-api-key", acmeKey}},
		{"jwt_es256", []string{"jwt"}, []string{"authorization", "Bearer " + sg.token(b, "acme", time.Now().Add(time.Hour))}},
		{"rate_limit_local", []string{"limit"}, nil},
		{"api_key_and_limit", []string{"key", "limit"}, []string{"x-api-key", acmeKey}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, r := set.Chain(bc.chain), req(bc.header...)
			ctx := context.Background()
			var o Outcome
			b.ReportAllocs()
			for b.Loop() {
				o.Reset()
				if fe := c.Check(ctx, r, &o); fe != nil {
					b.Fatal(fe)
				}
			}
		})
	}
}

// Only policies that may ask the network make a chain wait: a Redis rate
// limit or a JWKS URL. API keys, allow lists, local limits and JWKS files
// are checked from memory.
func TestChainMayWait(t *testing.T) {
	set := compileSet(t, `
consumers:
  - {name: alice, api_keys: [0123456789abcdef0123456789abcdef]}
policies:
  - {name: key, authentication: {api_key: {header: x-api-key}}, allow_consumers: [alice]}
  - {name: local, rate_limit: {requests: 10, per: 1s}}
  - {name: jwtfile, authentication: {jwt: {issuer: `+issuer+`, jwks_file: `+newSigner(t).jwks+`}}}
  - {name: redis, rate_limit: {requests: 10, per: 1s, redis: "127.0.0.1:1"}}
  - {name: jwturl, authentication: {jwt: {issuer: `+issuer+`, jwks_url: "http://127.0.0.1:1/jwks.json"}}}
`, Env{Redis: func(string) ratelimit.Limiter { return ratelimit.NewLocal(0) }})
	for _, tc := range []struct {
		names []string
		want  bool
	}{
		{[]string{"key", "local", "jwtfile"}, false},
		{[]string{"key", "redis"}, true},
		{[]string{"jwturl"}, true},
	} {
		if got := set.Chain(tc.names).MayWait(); got != tc.want {
			t.Errorf("chain %v: MayWait() = %v, want %v", tc.names, got, tc.want)
		}
	}
}
