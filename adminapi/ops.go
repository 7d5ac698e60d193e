package adminapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pylon-mesh/pylon/ca"
	"github.com/pylon-mesh/pylon/jointoken"
	"github.com/pylon-mesh/pylon/registry"
)

// decodeBody reads a small JSON body strictly into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	// Kind is "join" (default: a workload's first contact) or "admin".
	Kind      jointoken.Kind `json:"kind"`
	Service   string         `json:"service"`
	Namespace string         `json:"namespace"`
	// MaxUses limits how often a join token can be redeemed; 0 is unlimited.
	MaxUses int `json:"max_uses"`
	// TTL is how long the token is valid ("24h"); empty means forever.
	TTL         string `json:"ttl"`
	Description string `json:"description"`
}

// TokenCreated is the answer to POST /v1/tokens: the only time the secret
// is shown.
type TokenCreated struct {
	Token string          `json:"token"`
	Info  jointoken.Token `json:"info"`
}

func (a *api) createToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	t := jointoken.Token{Kind: req.Kind, Service: req.Service, Namespace: req.Namespace, MaxUses: req.MaxUses, Description: req.Description}
	if t.Kind == "" {
		t.Kind = jointoken.Join
	}
	if t.Kind == jointoken.Join && t.Namespace == "" {
		t.Namespace = "default"
	}
	if err := checkTokenRequest(t); err != nil {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			fail(w, r, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("ttl: %q is not a positive duration like 24h", req.TTL))
			return
		}
		t.Expires = time.Now().Add(d).UTC()
	}
	secret, info, err := a.Tokens.Create(r.Context(), t)
	if err != nil {
		failErr(w, r, err)
		return
	}
	if info.Kind == jointoken.Join {
		// The pin lets the workload authenticate the control plane on
		// first contact, before it holds any trust bundle.
		secret += "." + a.CA.Pin()
	}
	writeJSON(w, http.StatusCreated, TokenCreated{Token: secret, Info: info})
}

func checkTokenRequest(t jointoken.Token) error {
	switch {
	case t.Kind != jointoken.Join && t.Kind != jointoken.Admin:
		return fmt.Errorf("kind: %q is not join or admin", t.Kind)
	case t.Kind == jointoken.Join && t.Service == "":
		return errors.New("service: a join token names the service its workload runs")
	case t.Kind == jointoken.Admin && (t.Service != "" || t.Namespace != ""):
		return errors.New("an admin token names no service or namespace")
	case t.MaxUses < 0:
		return errors.New("max_uses: must not be negative")
	}
	in := registry.Instance{ID: "x", Service: t.Service, Namespace: t.Namespace, Address: "127.0.0.1:1"}
	if t.Kind == jointoken.Join {
		return in.Check()
	}
	return nil
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.Tokens.List(r.Context())
	if err != nil {
		failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ts})
}

func (a *api) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := a.Tokens.Revoke(r.Context(), r.PathValue("id")); errors.Is(err, jointoken.ErrNotFound) {
		fail(w, r, http.StatusNotFound, CodeNotFound, err.Error())
		return
	} else if err != nil {
		failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Root describes one trusted CA root.
type Root struct {
	Subject   string    `json:"subject"`
	SHA256    string    `json:"sha256"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// Current marks the active root, whose intermediate issues leaves.
	Current bool `json:"current"`
	// State is the root's part in a rotation: "active" (issuing), "next"
	// (trusted, issuing from ActivatesAt) or "retiring" (trusted until
	// RetiresAt).
	State string `json:"state"`
	// ActivatesAt is when a next root starts issuing.
	ActivatesAt time.Time `json:"activates_at,omitzero"`
	// RetiresAt is when a retiring root, or an active one a next one
	// replaces, stops being trusted.
	RetiresAt time.Time `json:"retires_at,omitzero"`
}

// Certs is the answer to GET /v1/certs.
type Certs struct {
	Roots []Root `json:"roots"`
	// Pin is the pin join tokens carry: of the root the control plane's
	// serving chain ends in, the oldest trusted one.
	Pin string `json:"pin"`
}

// rootStatuser is a CA that tells each root's part in a rotation, as a
// *ca.Authority does.
type rootStatuser interface {
	Status() []ca.RootStatus
}

func (a *api) certs(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.certsInfo())
}

func (a *api) certsInfo() Certs {
	out := Certs{Pin: a.CA.Pin(), Roots: []Root{}}
	for _, st := range a.rootStatus() {
		c := st.Cert
		sum := sha256.Sum256(c.Raw)
		out.Roots = append(out.Roots, Root{Subject: c.Subject.String(), SHA256: base64.RawURLEncoding.EncodeToString(sum[:]),
			NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Current: st.State == ca.Active,
			State: string(st.State), ActivatesAt: st.ActivatesAt.UTC(), RetiresAt: st.RetiresAt.UTC()})
	}
	return out
}

// rootStatus returns the CA's roots with their states; a CA that cannot
// tell them has its first root active and the others retiring.
func (a *api) rootStatus() []ca.RootStatus {
	if s, ok := a.CA.(rootStatuser); ok {
		return s.Status()
	}
	var out []ca.RootStatus
	for i, c := range a.CA.Roots() {
		st := ca.RootStatus{Cert: c, State: ca.Retiring}
		if i == 0 {
			st.State = ca.Active
		}
		out = append(out, st)
	}
	return out
}

func (a *api) rotate(w http.ResponseWriter, r *http.Request) {
	if err := a.CA.Rotate(r.Context()); err != nil {
		failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.certsInfo())
}

func (a *api) nodes(w http.ResponseWriter, r *http.Request) {
	nodes, err := a.Nodes(r.Context())
	if err != nil {
		failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nodes})
}

func (a *api) listInstances(w http.ResponseWriter, r *http.Request) {
	ins, err := a.Registry.List(r.Context(), r.URL.Query().Get("service"))
	if err != nil {
		failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ins})
}

func (a *api) register(w http.ResponseWriter, r *http.Request) {
	var in registry.Instance
	if !decodeBody(w, r, &in) {
		return
	}
	if err := in.Check(); err != nil {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	out, err := a.Registry.Register(r.Context(), in)
	if err != nil {
		failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *api) getInstance(w http.ResponseWriter, r *http.Request) {
	in, err := a.Registry.Get(r.Context(), r.PathValue("service"), r.PathValue("id"))
	a.instanceResult(w, r, in, err)
}

// HeartbeatRequest is the optional body of a heartbeat.
type HeartbeatRequest struct {
	Health string `json:"health"`
}

func (a *api) heartbeat(w http.ResponseWriter, r *http.Request) {
	var req HeartbeatRequest
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	switch req.Health {
	case "", registry.Unknown, registry.Healthy, registry.Unhealthy:
	default:
		fail(w, r, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("health: %q is not one of unknown, healthy, unhealthy", req.Health))
		return
	}
	in, err := a.Registry.Heartbeat(r.Context(), r.PathValue("service"), r.PathValue("id"), req.Health)
	a.instanceResult(w, r, in, err)
}

func (a *api) instanceResult(w http.ResponseWriter, r *http.Request, in registry.Instance, err error) {
	switch {
	case errors.Is(err, registry.ErrNotFound):
		fail(w, r, http.StatusNotFound, CodeNotFound, err.Error())
	case err != nil:
		failErr(w, r, err) // the request was checked: this is the store's failure
	default:
		writeJSON(w, http.StatusOK, in)
	}
}

func (a *api) deregister(w http.ResponseWriter, r *http.Request) {
	if err := a.Registry.Deregister(r.Context(), r.PathValue("service"), r.PathValue("id")); errors.Is(err, registry.ErrNotFound) {
		fail(w, r, http.StatusNotFound, CodeNotFound, err.Error())
		return
	} else if err != nil {
		failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// views answers how the callers' sidecars see the endpoints of a service.
func (a *api) views(w http.ResponseWriter, r *http.Request) {
	vs, err := a.Registry.ViewsOf(r.Context(), r.PathValue("service"))
	if err != nil {
		failErr(w, r, err)
		return
	}
	if vs == nil {
		vs = []registry.CallerView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": vs})
}
