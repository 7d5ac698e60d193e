package adminapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/store"
)

// Error codes the admin API answers with, stable for scripts
// (docs/control-plane.md lists them).
const (
	CodeBadRequest       = "bad_request"        // 400: malformed body, query or header
	CodeInvalidConfig    = "invalid_config"     // 422: the write would leave an invalid config
	CodeUnauthenticated  = "unauthenticated"    // 401: missing, unknown or revoked token
	CodeNotFound         = "not_found"          // 404: no such resource or path
	CodeNoApp            = "no_app"             // 404: /v1/app on a control plane that runs no app (only pylon up does)
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeExists           = "already_exists"     // 409: create of an existing resource
	CodeConflict         = "conflict"           // 409: another write got in first; read and retry
	CodeVersionMismatch  = "version_mismatch"   // 412: If-Match names an older version
	CodeTooLarge         = "too_large"          // 413: more resources change at once than one write may hold
	CodeUnavailable      = "unavailable"        // 503: the store cannot be reached
	CodeInternal         = "internal"           // 500
)

// apiError is the JSON error body.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code      string             `json:"code"`
	Message   string             `json:"message"`
	RequestID string             `json:"request_id"`
	Details   []resource.Problem `json:"details,omitempty"`
}

type ctxKey struct{}

// withRequestID gives every request an ID (the client's X-Request-Id if it
// sent a sane one) and echoes it in the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			var b [16]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	})
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(string)
	return id
}

func fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: errorBody{Code: code, Message: msg, RequestID: requestID(r)}})
}

// failErr maps an error from the layers below to a status and code.
func failErr(w http.ResponseWriter, r *http.Request, err error) {
	var inv *resource.InvalidError
	var cfgErrs config.Errors
	switch {
	case errors.As(err, &inv):
		writeJSON(w, http.StatusUnprocessableEntity, apiError{Error: errorBody{
			Code: CodeInvalidConfig, Message: err.Error(), RequestID: requestID(r), Details: inv.Problems}})
	case errors.As(err, &cfgErrs):
		details := make([]resource.Problem, len(cfgErrs))
		for i, e := range cfgErrs {
			details[i] = resource.Problem{Resource: e.File, Path: e.Path, Line: e.Line, Column: e.Column, Message: e.Msg}
		}
		writeJSON(w, http.StatusUnprocessableEntity, apiError{Error: errorBody{
			Code: CodeInvalidConfig, Message: err.Error(), RequestID: requestID(r), Details: details}})
	case errors.Is(err, resource.ErrTooMany):
		fail(w, r, http.StatusRequestEntityTooLarge, CodeTooLarge, err.Error())
	case errors.Is(err, resource.ErrNotFound), errors.Is(err, store.ErrNotFound):
		fail(w, r, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, resource.ErrExists):
		fail(w, r, http.StatusConflict, CodeExists, err.Error())
	case errors.Is(err, resource.ErrStale):
		fail(w, r, http.StatusPreconditionFailed, CodeVersionMismatch, err.Error())
	case errors.Is(err, resource.ErrConflict):
		fail(w, r, http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, store.ErrClosed):
		fail(w, r, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
	default:
		fail(w, r, http.StatusInternalServerError, CodeInternal, err.Error())
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
