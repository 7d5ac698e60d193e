// Package adminapi is the control plane's REST/JSON admin API under /v1:
// config resources (list, get, create, replace, delete, watch, and apply of
// a whole document), registered instances, tokens, certificates, the
// data planes connected to this replica and, under pylon up, the app's
// processes, events and logs and the operations on them (/v1/app). Every
// request needs a bearer token; every error is a JSON body with a stable
// code and the request ID. GET /v1/openapi.json describes it all.
package adminapi

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/pylon-mesh/pylon/jointoken"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/store"
)

// Tokens is the token store the API authenticates with and manages.
type Tokens interface {
	Check(ctx context.Context, secret string, kind jointoken.Kind) (jointoken.Token, error)
	Create(ctx context.Context, t jointoken.Token) (string, jointoken.Token, error)
	List(ctx context.Context) ([]jointoken.Token, error)
	Revoke(ctx context.Context, id string) error
}

// CA is the certificate authority the API reports on and rotates.
type CA interface {
	Roots() []*x509.Certificate
	Pin() string
	Rotate(ctx context.Context) error
}

// Options are what the API serves.
type Options struct {
	Store    store.Store
	Tokens   Tokens
	CA       CA
	Registry *registry.Registry
	// Nodes lists the data planes connected to the control plane (to
	// every replica).
	Nodes func(ctx context.Context) (any, error)
	// Status describes this replica (GET /v1/status).
	Status func() any
	// App is the app pylon up runs; nil for pylon control.
	App    App
	Logger *slog.Logger
}

type api struct {
	Options
	store store.Store
}

// Handler returns the API's HTTP handler.
func Handler(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &api{Options: opts, store: opts.Store}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/openapi.json", a.openapi)
	mux.HandleFunc("POST /v1/apply", a.apply)
	mux.HandleFunc("GET /v1/{kind}", a.list)
	mux.HandleFunc("POST /v1/{kind}", a.write)
	mux.HandleFunc("GET /v1/{kind}/{name}", a.get)
	mux.HandleFunc("PUT /v1/{kind}/{name}", a.write)
	mux.HandleFunc("DELETE /v1/{kind}/{name}", a.remove)
	mux.HandleFunc("GET /v1/instances", a.listInstances)
	mux.HandleFunc("POST /v1/instances", a.register)
	mux.HandleFunc("GET /v1/instances/{service}/{id}", a.getInstance)
	mux.HandleFunc("PUT /v1/instances/{service}/{id}/heartbeat", a.heartbeat)
	mux.HandleFunc("DELETE /v1/instances/{service}/{id}", a.deregister)
	mux.HandleFunc("GET /v1/views/{service}", a.views)
	mux.HandleFunc("GET /v1/tokens", a.listTokens)
	mux.HandleFunc("POST /v1/tokens", a.createToken)
	mux.HandleFunc("DELETE /v1/tokens/{id}", a.revokeToken)
	mux.HandleFunc("GET /v1/certs", a.certs)
	mux.HandleFunc("POST /v1/certs/rotate", a.rotate)
	mux.HandleFunc("GET /v1/nodes", a.nodes)
	mux.HandleFunc("GET /v1/app/processes", a.withApp(a.processes))
	mux.HandleFunc("GET /v1/app/events", a.withApp(a.events))
	mux.HandleFunc("GET /v1/app/logs/{name}", a.withApp(a.logs))
	mux.HandleFunc("POST /v1/app/scale", a.withApp(a.scale))
	mux.HandleFunc("POST /v1/app/restart", a.withApp(a.restart))
	mux.HandleFunc("POST /v1/app/stop", a.withApp(a.stop))
	mux.HandleFunc("PUT /v1/app", a.withApp(a.applyApp))
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.Status()) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, http.StatusNotFound, CodeNotFound, "no such API path; see /v1/openapi.json")
	})
	return withRequestID(a.authenticate(mux))
}

// authenticate lets a request through only with a valid admin token. The
// OpenAPI description is public.
func (a *api) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/openapi.json" {
			next.ServeHTTP(w, r)
			return
		}
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pylon"`)
			fail(w, r, http.StatusUnauthorized, CodeUnauthenticated, "an admin token is required: Authorization: Bearer <token> (the first one is in <data>/admin.token)")
			return
		}
		switch _, err := a.Tokens.Check(r.Context(), secret, jointoken.Admin); {
		case errors.Is(err, jointoken.ErrInvalid), errors.Is(err, jointoken.ErrExpired), errors.Is(err, jointoken.ErrUsedUp):
			w.Header().Set("WWW-Authenticate", `Bearer realm="pylon", error="invalid_token"`)
			fail(w, r, http.StatusUnauthorized, CodeUnauthenticated, "the admin token is not valid: "+err.Error())
			return
		case err != nil:
			failErr(w, r, err) // the token could not be checked (the store is down): not the caller's fault
			return
		}
		next.ServeHTTP(w, r)
	})
}
