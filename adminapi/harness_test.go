package adminapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/ca"
	"github.com/pylon-mesh/pylon/jointoken"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/store/bolt"
)

// fixedNodes and fixedStatus are what the harness's Options.Nodes and
// Options.Status report.
var (
	fixedNodes = []map[string]string{
		{"id": "gw-1", "kind": "gateway", "replica": "cp-1", "connected_at": "2026-01-02T03:04:05Z"},
		{"id": "orders-7", "kind": "sidecar", "replica": "cp-2", "identity": "spiffe://pylon.local/ns/default/svc/orders"},
	}
	fixedStatus = map[string]any{"replica": "cp-1/127.0.0.1:7070", "leader": true, "store": "bolt (data)", "revision": 7.0, "nodes": 1.0}
)

// harness is an admin API over a real bolt store, token manager, CA and
// registry, served on loopback.
type harness struct {
	url    string
	api    http.Handler
	admin  string // an admin token's secret
	doc    *openapiDoc
	tokens *jointoken.Manager
	store  *bolt.Store
	clock  *clock // the CA's
}

// clock is a settable clock, safe for concurrent use.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock() *clock {
	c := &clock{}
	c.advance(0)
	return c
}

func (c *clock) now() time.Time { return *c.t.Load() }

// advance moves the clock d on from the last time it was read or set; the
// first call starts it at the real time.
func (c *clock) advance(d time.Duration) {
	t := time.Now()
	if p := c.t.Load(); p != nil {
		t = *p
	}
	t = t.Add(d)
	c.t.Store(&t)
}

// newHarness serves the API; with, if given, changes its options first.
func newHarness(t testing.TB, with ...func(*adminapi.Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "pylon.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := jointoken.New(st, nil)
	admin, _, err := tokens.Create(t.Context(), jointoken.Token{Kind: jointoken.Admin})
	if err != nil {
		t.Fatalf("create admin token: %v", err)
	}
	caClock := newClock()
	authority, err := ca.Open(t.Context(), st, ca.Options{KeyFile: filepath.Join(dir, "ca.key"), Now: caClock.now})
	if err != nil {
		t.Fatalf("open ca: %v", err)
	}
	opts := adminapi.Options{
		Store:    st,
		Tokens:   tokens,
		CA:       authority,
		Registry: registry.New(st),
		Nodes:    func(context.Context) (any, error) { return fixedNodes, nil },
		Status:   func() any { return fixedStatus },
	}
	for _, f := range with {
		f(&opts)
	}
	api := adminapi.Handler(opts)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &harness{url: srv.URL, api: api, admin: admin, doc: loadDoc(t), tokens: tokens, store: st, clock: caClock}
}

// response is an answer the harness read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the admin token and checks what every answer
// must be (see checkResponse). headers are name, value pairs; an
// Authorization pair replaces the admin token, and an empty value removes
// the header.
func (h *harness) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, h.url+path, rd)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+h.admin)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Del(headers[i])
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: b}
	h.checkResponse(t, req, out)
	return out
}

// checkResponse checks what every answer must be: it echoes the request's
// X-Request-Id (or makes one up), its status is documented for the
// operation and its body matches the documented schema, and an error is a
// JSON body with a documented code and the same request ID.
func (h *harness) checkResponse(t testing.TB, req *http.Request, resp response) {
	t.Helper()
	id := resp.header.Get("X-Request-Id")
	if sent := req.Header.Get("X-Request-Id"); sent != "" && len(sent) <= 128 && id != sent {
		t.Errorf("%s %s: got X-Request-Id %q, want the one sent, %q", req.Method, req.URL.Path, id, sent)
	}
	if id == "" {
		t.Errorf("%s %s: got no X-Request-Id", req.Method, req.URL.Path)
	}
	if op, ok := h.doc.operationFor(req); ok && !op.documents(resp.status) {
		t.Errorf("%s %s: got status %d, which the OpenAPI document does not list for the operation", req.Method, req.URL.Path, resp.status)
	} else if ok && req.Method != "HEAD" {
		h.doc.checkBody(t, op, resp.status, resp.header.Get("Content-Type"), resp.body)
	}
	if resp.status < 400 {
		return
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: got error Content-Type %q, want application/json", req.Method, req.URL.Path, ct)
	}
	e := decodeError(t, resp)
	if !slices.Contains(h.doc.errorCodes(), e.Code) {
		t.Errorf("%s %s: got error code %q, want one of %v", req.Method, req.URL.Path, e.Code, h.doc.errorCodes())
	}
	if e.RequestID != id {
		t.Errorf("%s %s: got request_id %q in the body, want the X-Request-Id %q", req.Method, req.URL.Path, e.RequestID, id)
	}
}

// errorBody mirrors the documented error body, which has no other fields.
type errorBody struct {
	Code      string    `json:"code"`
	Message   string    `json:"message"`
	RequestID string    `json:"request_id"`
	Details   []problem `json:"details"`
}

type problem struct {
	Resource string `json:"resource"`
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
}

func decodeError(t testing.TB, resp response) errorBody {
	t.Helper()
	var e struct {
		Error errorBody `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(string(resp.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("decode error body %s: %v", resp.body, err)
	}
	return e.Error
}

// decode reads a JSON answer strictly into v.
func decode(t *testing.T, resp response, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(resp.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", resp.body, err)
	}
}

// want fails the test unless resp has the status and, for an error, the code.
func want(t *testing.T, resp response, status int, code string) {
	t.Helper()
	got := [2]any{resp.status, ""}
	if resp.status >= 400 {
		got[1] = decodeError(t, resp).Code
	}
	if diff := cmp.Diff([2]any{status, code}, got); diff != "" {
		t.Fatalf("got status and code %v, want %v (-want +got):\n%s\nbody: %s", got, [2]any{status, code}, diff, resp.body)
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return b
}

// String renders a problem as "resource:line:col: path: message", the
// way a config error reads, leaving out the parts that are absent.
func (p problem) String() string {
	s := p.Resource
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	if p.Path != "" {
		s += ": " + p.Path
	}
	return s + ": " + p.Message
}
