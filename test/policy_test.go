package test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/internal/redistest"
)

// The consumers' API keys in the policy tests, in plain form (pylon keeps
// only their SHA-256), and the JWT issuer and audience.
const (
	acmeKey     = "acme-e2e-key-0123456789"
	globexKey   = "globex-e2e-key-0123456789"
	jwtIssuer   = "https://id.pylon.test"
	jwtAudience = "pylon-e2e"
)

// policyConsumers are the consumers every policy config knows: globex has
// its own rate, replacing the policies' rates counted per consumer.
const policyConsumers = `
consumers:
  - { name: acme, api_keys: [` + acmeKey + `] }
  - { name: globex, api_keys: [` + globexKey + `], rate_limit: { requests: 3, per: 1m } }
`

const apiKeyConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
` + policyConsumers + `
policies:
  - name: keys
    authentication: { api_key: { header: X-API-Key, query: api_key } }
  - name: forwarding
    authentication: { api_key: {}, forward_credentials: true }
  - name: acme-only
    authentication: { api_key: {} }
    allow_consumers: [acme]
routes:
  - name: keys
    match: { path: { prefix: /keys } }
    policies: [keys]
    service: echo
  - name: forwarding
    match: { path: { prefix: /forwarding } }
    policies: [forwarding]
    service: echo
  - name: acme-only
    match: { path: { prefix: /acme-only } }
    policies: [acme-only]
    service: echo
  - name: open
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`

// seen is what one request through the gateway came to: the refusal, or
// what the upstream (the echo handler) received.
type seen struct {
	Status     int
	Code       string   // error code of a refusal
	Challenges []string // WWW-Authenticate of a refusal
	Consumer   []string // X-Pylon-Consumer at the upstream
	Key        []string // X-Api-Key at the upstream
	Auth       []string // Authorization at the upstream
	Query      string   // query at the upstream
}

// policyGet sends a GET with header and returns what it came to.
func policyGet(t *testing.T, c *http.Client, url string, header http.Header) seen {
	t.Helper()
	return policyDo(t, c, http.MethodGet, url, header, nil)
}

// policyDo sends a request and returns what it came to. A refusal must be
// a pylon error whose request_id is the X-Request-Id field.
func policyDo(t *testing.T, c *http.Client, method, url string, header http.Header, body []byte) seen {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("building %s %s: %v", method, url, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, body := do(t, c, req)
	s := seen{Status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		s.Code = refusal(t, resp, body)
		s.Challenges = resp.Header.Values("WWW-Authenticate")
		return s
	}
	rep := decodeEcho(t, body)
	s.Consumer = rep.Headers["X-Pylon-Consumer"]
	s.Key = rep.Headers["X-Api-Key"]
	s.Auth = rep.Headers["Authorization"]
	s.Query = rep.Query
	return s
}

// refusal checks that a refused response has pylon's JSON error body with
// a message and the request id of its X-Request-Id field, and returns the
// error code.
func refusal(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("status %d: body is not a pylon error: %q (%v)", resp.StatusCode, body, err)
		return ""
	}
	if id := resp.Header.Get("X-Request-Id"); id == "" || e.Error.RequestID != id {
		t.Errorf("%s: got request_id %q and X-Request-Id %q, want the same non-empty id", e.Error.Code, e.Error.RequestID, id)
	}
	return e.Error.Code
}

// hdr builds a header from name, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestPolicyAPIKeys(t *testing.T) {
	g := startGateway(t, apiKeyConfig, map[string]string{"Echo": startEcho(t, "echo")})
	apiKey := []string{`ApiKey realm="pylon"`}
	tests := []getCase{
		{"no key", "/keys", nil, seen{Status: 401, Code: "unauthenticated", Challenges: apiKey}},
		{"wrong key", "/keys", hdr("X-API-Key", "not-a-key-of-anyone-at-all"), seen{Status: 401, Code: "invalid_credentials", Challenges: apiKey}},
		{"key in header", "/keys", hdr("X-API-Key", acmeKey, "X-Request-Id", "policy-e2e-acme"), seen{Status: 200, Consumer: []string{"acme"}}},
		{"key in query", "/keys?a=1&api_key=" + acmeKey + "&b=2", nil, seen{Status: 200, Consumer: []string{"acme"}, Query: "a=1&b=2"}},
		{"wrong key in query", "/keys?api_key=not-a-key-of-anyone-at-all", nil, seen{Status: 401, Code: "invalid_credentials", Challenges: apiKey}},
		{"credentials forwarded", "/forwarding", hdr("X-API-Key", globexKey), seen{Status: 200, Consumer: []string{"globex"}, Key: []string{globexKey}}},
		{"spoofed consumer replaced", "/keys", hdr("X-API-Key", globexKey, "X-Pylon-Consumer", "acme"), seen{Status: 200, Consumer: []string{"globex"}}},
		{"spoofed consumer dropped without policies", "/open", hdr("X-Pylon-Consumer", "acme"), seen{Status: 200}},
		{"allowed consumer", "/acme-only", hdr("X-API-Key", acmeKey), seen{Status: 200, Consumer: []string{"acme"}}},
		{"other consumer", "/acme-only", hdr("X-API-Key", globexKey), seen{Status: 403, Code: "forbidden"}},
	}
	for proto, c := range forwardingClients(t) {
		t.Run(proto, func(t *testing.T) {
			runGetCases(t, c, g.url("web"), tests)
			// The gateway refuses before reading the body; the next
			// request on the connection must still be read right.
			t.Run("refused upload, then a request", func(t *testing.T) {
				url := g.url("web") + "/keys"
				got := []seen{
					policyDo(t, c, http.MethodPost, url, nil, make([]byte, 256<<10)),
					policyDo(t, c, http.MethodPost, url, hdr("X-API-Key", acmeKey), []byte("after")),
				}
				want := []seen{{Status: 401, Code: "unauthenticated", Challenges: apiKey}, {Status: 200, Consumer: []string{"acme"}}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("POST %s twice (-want +got):\n%s", url, diff)
				}
			})
		})
	}
	t.Run("access log names the consumer", func(t *testing.T) {
		var consumers []any
		waitFor(t, flushWait, "the access log lines of policy-e2e-acme", func() bool {
			consumers = nil
			for _, l := range g.accessLines() {
				if l["request_id"] == "policy-e2e-acme" {
					consumers = append(consumers, l["consumer"])
				}
			}
			return len(consumers) == 2
		})
		if diff := cmp.Diff([]any{"acme", "acme"}, consumers); diff != "" {
			t.Errorf("access log consumer of both protocols (-want +got):\n%s", diff)
		}
	})
}

// jwtSigner makes ES256 tokens whose public key its JWKS server serves.
type jwtSigner struct {
	key  *ecdsa.PrivateKey
	jwks string // URL of the JWKS document
}

func newJWTSigner(t *testing.T) *jwtSigner {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating an ES256 key: %v", err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "e2e", Algorithm: "ES256", Use: "sig"}}}
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatalf("encoding the JWKS: %v", err)
	}
	addr := startHandler(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(doc)
	}))
	return &jwtSigner{key: k, jwks: "http://" + addr + "/jwks.json"}
}

// token signs claims, which get the test's issuer unless they name one.
func (s *jwtSigner) token(t *testing.T, claims jwt.Claims) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "e2e")
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, opts)
	if err != nil {
		t.Fatalf("creating a signer: %v", err)
	}
	if claims.Issuer == "" {
		claims.Issuer = jwtIssuer
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("signing a token: %v", err)
	}
	return tok
}

const jwtConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
` + policyConsumers + `
policies:
  - name: either
    authentication:
      api_key: {}
      jwt: { issuer: "` + jwtIssuer + `", jwks_url: "{{.JWKS}}" }
  - name: per-consumer
    rate_limit: { requests: 1, per: 1m, by: consumer }
  - name: jwt
    authentication:
      jwt: { issuer: "` + jwtIssuer + `", audiences: [` + jwtAudience + `], jwks_url: "{{.JWKS}}" }
  - name: jwt-down
    authentication:
      jwt: { issuer: "` + jwtIssuer + `", jwks_url: "{{.Down}}" }
routes:
  - name: either-limited
    match: { path: { prefix: /either/limited } }
    policies: [either, per-consumer]
    service: echo
  - name: either
    match: { path: { prefix: /either } }
    policies: [either]
    service: echo
  - name: jwt
    match: { path: { prefix: /jwt } }
    policies: [jwt]
    service: echo
  - name: jwt-down
    match: { path: { prefix: /down } }
    policies: [jwt-down]
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`

func TestPolicyJWT(t *testing.T) {
	sg := newJWTSigner(t)
	g := startGateway(t, jwtConfig, map[string]string{
		"Echo": startEcho(t, "echo"), "JWKS": sg.jwks, "Down": "http://" + freeAddr(t) + "/jwks.json",
	})
	now := time.Now()
	valid := sg.token(t, jwt.Claims{Subject: "user-42", Audience: jwt.Audience{jwtAudience}, Expiry: jwt.NewNumericDate(now.Add(time.Hour))})
	expired := sg.token(t, jwt.Claims{Subject: "user-42", Audience: jwt.Audience{jwtAudience}, Expiry: jwt.NewNumericDate(now.Add(-time.Hour))})
	otherAudience := sg.token(t, jwt.Claims{Subject: "user-42", Audience: jwt.Audience{"someone-else"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour))})
	invalid := func(reason string) []string {
		return []string{`Bearer realm="pylon", error="invalid_token", error_description="the token is not valid: ` + reason + `"`}
	}
	tests := []getCase{
		{"valid token", "/jwt", hdr("Authorization", "Bearer "+valid), seen{Status: 200, Consumer: []string{"user-42"}}},
		{"no token", "/jwt", nil, seen{Status: 401, Code: "unauthenticated", Challenges: []string{`Bearer realm="pylon"`}}},
		{"expired token", "/jwt", hdr("Authorization", "Bearer "+expired), seen{Status: 401, Code: "invalid_credentials", Challenges: invalid("token has expired")}},
		{"wrong audience", "/jwt", hdr("Authorization", "Bearer "+otherAudience), seen{Status: 401, Code: "invalid_credentials", Challenges: invalid("token audience is not accepted")}},
		{"keys never fetched", "/down", hdr("Authorization", "Bearer "+valid), seen{Status: 503, Code: "auth_unavailable"}},
		{"token or key: neither", "/either", nil, seen{Status: 401, Code: "unauthenticated", Challenges: []string{`ApiKey realm="pylon"`, `Bearer realm="pylon"`}}},
		{"token or key: key", "/either", hdr("X-API-Key", acmeKey), seen{Status: 200, Consumer: []string{"acme"}}},
		{"token or key: token", "/either", hdr("Authorization", "Bearer "+valid), seen{Status: 200, Consumer: []string{"user-42"}}},
		{"token or key: basic credentials are no token", "/either", hdr("Authorization", "Basic YTpi", "X-API-Key", acmeKey),
			seen{Status: 200, Consumer: []string{"acme"}, Auth: []string{"Basic YTpi"}}},
		{"token or key: a bad token is checked first", "/either", hdr("Authorization", "Bearer "+expired, "X-API-Key", acmeKey),
			seen{Status: 401, Code: "invalid_credentials", Challenges: append([]string{`ApiKey realm="pylon"`}, invalid("token has expired")...)}},
	}
	var both []target
	for proto, c := range forwardingClients(t) {
		both = append(both, target{c, g.url("web")})
		t.Run(proto, func(t *testing.T) {
			runGetCases(t, c, g.url("web"), tests)
		})
	}
	// A token whose subject names a consumer authenticates as it: its
	// requests count with the consumer's key and at the consumer's rate.
	t.Run("token subject is a consumer", func(t *testing.T) {
		globex := sg.token(t, jwt.Claims{Subject: "globex", Expiry: jwt.NewNumericDate(now.Add(time.Hour))})
		runSteps(t, both, []limitStep{
			{"/either/limited", hdr("Authorization", "Bearer "+globex), allowed(3, 2)},
			{"/either/limited", hdr("X-API-Key", acmeKey), allowed(1, 0)},
			{"/either/limited", hdr("X-API-Key", globexKey), allowed(3, 1)},
			{"/either/limited", hdr("Authorization", "Bearer "+globex), allowed(3, 0)},
			{"/either/limited", hdr("X-API-Key", globexKey), refused(3)},
		})
	})
}

// limited is what a request to a rate-limited route came to.
type limited struct {
	Status    int
	Code      string // error code of a refusal
	Limit     string // RateLimit-Limit
	Remaining string // RateLimit-Remaining
}

// limitGet sends a GET with header and returns what it came to. It checks
// the fields whose values depend on the clock by range: RateLimit-Reset
// within 1..60 seconds when the route reported a limit, and Retry-After
// within 1..60 seconds on a 429 (and absent otherwise).
func limitGet(t *testing.T, c *http.Client, url string, header http.Header) limited {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("building GET %s: %v", url, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, body := do(t, c, req)
	l := limited{Status: resp.StatusCode, Limit: resp.Header.Get("RateLimit-Limit"), Remaining: resp.Header.Get("RateLimit-Remaining")}
	if resp.StatusCode != http.StatusOK {
		l.Code = refusal(t, resp, body)
	}
	if l.Limit != "" {
		inSeconds(t, "RateLimit-Reset", resp.Header.Values("RateLimit-Reset"))
	}
	if ra := resp.Header.Values("Retry-After"); resp.StatusCode == http.StatusTooManyRequests {
		inSeconds(t, "Retry-After", ra)
	} else if len(ra) != 0 {
		t.Errorf("status %d: got Retry-After %q, want none", resp.StatusCode, ra)
	}
	return l
}

// inSeconds checks that a field has one value, a number of seconds in
// 1..60 (every limit of these tests is per minute).
func inSeconds(t *testing.T, name string, values []string) {
	t.Helper()
	if len(values) != 1 {
		t.Errorf("got %s %q, want one value", name, values)
		return
	}
	if n, err := strconv.Atoi(values[0]); err != nil || n < 1 || n > 60 {
		t.Errorf("got %s %q, want seconds in 1..60", name, values[0])
	}
}

const rateLimitConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
` + policyConsumers + `
policies:
  - name: per-ip
    rate_limit: { requests: 3, per: 1m }
  - name: per-tenant
    rate_limit: { requests: 1, per: 1m, by: header, header: X-Tenant }
  - name: keys
    authentication: { api_key: {} }
  - name: per-consumer
    rate_limit: { requests: 1, per: 1m, by: consumer }
routes:
  - name: per-ip
    match: { path: { prefix: /per-ip } }
    policies: [per-ip]
    service: echo
  - name: per-tenant
    match: { path: { prefix: /per-tenant } }
    policies: [per-tenant]
    service: echo
  - name: per-consumer
    match: { path: { prefix: /per-consumer } }
    policies: [keys, per-consumer]
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`

// limitStep is one request of a rate limit sequence and what it must get.
type limitStep struct {
	path   string
	header http.Header
	want   limited
}

// allowed and refused are the expected outcomes of a rate-limited route.
func allowed(limit, remaining int) limited {
	return limited{Status: 200, Limit: strconv.Itoa(limit), Remaining: strconv.Itoa(remaining)}
}

func refused(limit int) limited {
	return limited{Status: 429, Code: "rate_limited", Limit: strconv.Itoa(limit), Remaining: "0"}
}

// target is a client and the base URL of the gateway listener it sends to.
type target struct {
	c   *http.Client
	url string
}

// runSteps sends the steps in order, step i through targets[i%len(targets)],
// and compares what they got with what they want.
func runSteps(t *testing.T, targets []target, steps []limitStep) {
	t.Helper()
	var got, want []limited
	for i, s := range steps {
		to := targets[i%len(targets)]
		got = append(got, limitGet(t, to.c, to.url+s.path, s.header))
		want = append(want, s.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("responses in order (-want +got):\n%s", diff)
	}
}

func TestPolicyRateLimit(t *testing.T) {
	g := startGateway(t, rateLimitConfig, map[string]string{"Echo": startEcho(t, "echo")})
	// HTTP/1.1 and h2c in turn: both count alike and carry the fields.
	var both []target
	for _, c := range forwardingClients(t) {
		both = append(both, target{c, g.url("web")})
	}
	tenant := func(v string) http.Header { return hdr("X-Tenant", v) }
	key := func(k string) http.Header { return hdr("X-API-Key", k) }
	tests := []struct {
		name  string
		steps []limitStep
	}{
		{"per client IP", []limitStep{
			{"/per-ip", nil, allowed(3, 2)}, {"/per-ip", nil, allowed(3, 1)},
			{"/per-ip", nil, allowed(3, 0)}, {"/per-ip", nil, refused(3)},
		}},
		{"per header value", []limitStep{
			{"/per-tenant", tenant("a"), allowed(1, 0)}, {"/per-tenant", tenant("b"), allowed(1, 0)},
			{"/per-tenant", tenant("a"), refused(1)}, {"/per-tenant", tenant("b"), refused(1)},
		}},
		// globex has its own 3 per minute, acme the policy's 1.
		{"per consumer with an override", []limitStep{
			{"/per-consumer", key(acmeKey), allowed(1, 0)}, {"/per-consumer", key(globexKey), allowed(3, 2)},
			{"/per-consumer", key(acmeKey), refused(1)}, {"/per-consumer", key(globexKey), allowed(3, 1)},
			{"/per-consumer", key(globexKey), allowed(3, 0)}, {"/per-consumer", key(globexKey), refused(3)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, both, tc.steps) })
	}
}

const redisLimitConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
policies:
  - name: shared
    rate_limit: { requests: 4, per: 1m, redis: "{{.Redis}}" }
  - name: down-deny
    rate_limit: { requests: 4, per: 1m, redis: "{{.Down}}", on_error: deny }
  - name: down-allow
    rate_limit: { requests: 4, per: 1m, redis: "{{.Down}}", on_error: allow }
routes:
  - name: shared
    match: { path: { prefix: /shared } }
    policies: [shared]
    service: echo
  - name: down-deny
    match: { path: { prefix: /down-deny } }
    policies: [down-deny]
    service: echo
  - name: down-allow
    match: { path: { prefix: /down-allow } }
    policies: [down-allow]
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`

func TestPolicyRedisRateLimit(t *testing.T) {
	data := map[string]string{"Echo": startEcho(t, "echo"), "Redis": redistest.Start(t), "Down": freeAddr(t)}
	a := startGateway(t, redisLimitConfig, data)
	b := startGateway(t, redisLimitConfig, data)
	c := newClient(t)
	t.Run("shared by two gateways", func(t *testing.T) {
		// Through A, A, B, B, then A and B: one count of 4 per minute.
		ta, tb := target{c, a.url("web")}, target{c, b.url("web")}
		runSteps(t, []target{ta, ta, tb, tb, ta, tb}, []limitStep{
			{"/shared", nil, allowed(4, 3)}, {"/shared", nil, allowed(4, 2)},
			{"/shared", nil, allowed(4, 1)}, {"/shared", nil, allowed(4, 0)},
			{"/shared", nil, refused(4)}, {"/shared", nil, refused(4)},
		})
	})
	t.Run("redis down", func(t *testing.T) {
		runSteps(t, []target{{c, a.url("web")}}, []limitStep{
			{"/down-deny", nil, limited{Status: 503, Code: "rate_limit_unavailable"}},
			{"/down-allow", nil, limited{Status: 200}},
		})
	})
}

// mdRecorder keeps the metadata of the last unary call a gRPC server served.
type mdRecorder struct {
	mu sync.Mutex
	md metadata.MD
}

func (r *mdRecorder) intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	r.mu.Lock()
	r.md = md
	r.mu.Unlock()
	return next(ctx, req)
}

func (r *mdRecorder) last(key string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.md.Get(key)
}

// startRecordingGRPCServer serves testService on loopback, recording each
// unary call's metadata.
func startRecordingGRPCServer(t *testing.T) (*mdRecorder, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	rec := &mdRecorder{}
	srv := grpc.NewServer(grpc.UnaryInterceptor(rec.intercept))
	testpb.RegisterTestServiceServer(srv, &testService{canceled: make(chan string, 16)})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return rec, ln.Addr().String()
}

const grpcPolicyConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
` + policyConsumers + `
policies:
  - name: keys-limited
    authentication: { api_key: {} }
    rate_limit: { requests: 2, per: 1m }
  - name: acme-only
    authentication: { api_key: {} }
    allow_consumers: [acme]
routes:
  - name: empty
    match: { path: { exact: /grpc.testing.TestService/EmptyCall } }
    policies: [acme-only]
    service: grpc
  - name: grpc
    match: { path: { prefix: /grpc.testing.TestService } }
    policies: [keys-limited]
    service: grpc
services:
  - name: grpc
    protocol: grpc
    endpoints: [{{.GRPC}}]
`

func TestPolicyGRPC(t *testing.T) {
	rec, addr := startRecordingGRPCServer(t)
	g := startGateway(t, grpcPolicyConfig, map[string]string{"GRPC": addr})
	client := testpb.NewTestServiceClient(dialGRPC(t, g.addr("web")))
	ctx := testContext(t, 20*time.Second)
	withKey := func(k string) context.Context { return metadata.AppendToOutgoingContext(ctx, "x-api-key", k) }
	unary := func(ctx context.Context) codes.Code {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
		return status.Code(err)
	}
	empty := func(ctx context.Context) codes.Code {
		_, err := client.EmptyCall(ctx, &testpb.Empty{})
		return status.Code(err)
	}

	got := []codes.Code{unary(ctx), unary(withKey("not-a-key-of-anyone-at-all")), unary(withKey(acmeKey))}
	upstream := [][]string{rec.last("x-pylon-consumer"), rec.last("x-api-key")}
	got = append(got, unary(withKey(acmeKey)), unary(withKey(acmeKey)), empty(withKey(globexKey)), empty(withKey(acmeKey)))
	// EmptyCall passes acme-only for acme and reaches a server that does
	// not implement it.
	want := []codes.Code{codes.Unauthenticated, codes.Unauthenticated, codes.OK, codes.OK, codes.ResourceExhausted, codes.PermissionDenied, codes.Unimplemented}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("codes of the calls in order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"acme"}, nil}, upstream); diff != "" {
		t.Errorf("x-pylon-consumer and x-api-key at the server (-want +got):\n%s", diff)
	}
	t.Run("refusal is trailers-only", func(t *testing.T) {
		got := rawGRPCCall(t, g.url("web")+"/grpc.testing.TestService/UnaryCall")
		want := grpcReply{Status: 200, ContentType: "application/grpc", GRPCStatus: "16"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("a call without a key (-want +got):\n%s", diff)
		}
	})
}

// grpcReply is the shape of a gRPC response as an HTTP/2 client sees it.
type grpcReply struct {
	Status      int
	ContentType string
	GRPCStatus  string // in the header: a trailers-only response
	Body        int    // bytes
	Trailers    int    // trailer fields after the body
}

// rawGRPCCall posts one empty gRPC message to url over h2c with net/http.
func rawGRPCCall(t *testing.T, url string) grpcReply {
	t.Helper()
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(make([]byte, 5)))
	if err != nil {
		t.Fatalf("building POST %s: %v", url, err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, body := do(t, &http.Client{Transport: tr, Timeout: 10 * time.Second}, req)
	return grpcReply{
		Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		GRPCStatus: resp.Header.Get("Grpc-Status"), Body: len(body), Trailers: len(resp.Trailer),
	}
}

const policyReloadConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
` + policyConsumers + `
policies:
  - name: limit
    rate_limit: { requests: {{.Requests}}, per: 1m }
  - name: keys
    authentication: { api_key: {} }
routes:
  - name: limited
    match: { path: { prefix: /limited } }
    policies: [limit]
    service: echo
  - name: open
    match: { path: { prefix: /open } }
    {{if .Keys}}policies: [keys]{{end}}
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`

func TestPolicyReload(t *testing.T) {
	data := map[string]string{"Echo": startEcho(t, "echo"), "Requests": "10", "Keys": ""}
	g := startGateway(t, policyReloadConfig, data)
	c := newClient(t)
	url := g.url("web")
	before := []limited{limitGet(t, c, url+"/limited", nil), limitGet(t, c, url+"/open", nil)}

	// The limit's count survives the reload: one request of 10 per minute
	// spent leaves room for one more of 2 per minute (GCRA).
	data["Requests"], data["Keys"] = "2", "yes"
	g.reload(policyReloadConfig, data, "success")
	after := []limited{limitGet(t, c, url+"/limited", nil), limitGet(t, c, url+"/limited", nil)}
	open := policyGet(t, c, url+"/open", nil)

	if diff := cmp.Diff([]limited{allowed(10, 9), {Status: 200}}, before); diff != "" {
		t.Errorf("before the reload (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]limited{allowed(2, 0), refused(2)}, after); diff != "" {
		t.Errorf("after lowering the limit (-want +got):\n%s", diff)
	}
	want := seen{Status: 401, Code: "unauthenticated", Challenges: []string{`ApiKey realm="pylon"`}}
	if diff := cmp.Diff(want, open); diff != "" {
		t.Errorf("a route given a policy by the reload (-want +got):\n%s", diff)
	}
}

// getCase is a GET through the gateway and what must come of it.
type getCase struct {
	name   string
	path   string
	header http.Header
	want   seen
}

// runGetCases sends each case's GET to base with c, one subtest each.
func runGetCases(t *testing.T, c *http.Client, base string, tests []getCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := policyGet(t, c, base+tc.path, tc.header)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
			}
		})
	}
}
