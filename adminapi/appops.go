package adminapi

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ProcessList is the answer to GET /v1/app/processes.
type ProcessList struct {
	Items []Process `json:"items"`
}

// EventList is the answer to GET /v1/app/events.
type EventList struct {
	Items []Event `json:"items"`
}

// ScaleRequest is the body of POST /v1/app/scale, and its answer.
type ScaleRequest struct {
	Service  string `json:"service"`
	Replicas int    `json:"replicas"`
}

// RestartRequest is the body of POST /v1/app/restart, and its answer.
type RestartRequest struct {
	Service string `json:"service"`
}

// ApplyAppRequest is the body of PUT /v1/app.
type ApplyAppRequest struct {
	// Filename is the app file's absolute path: relative paths in it are
	// resolved against its directory, and errors name it.
	Filename string `json:"filename"`
	// Content is the app file.
	Content string `json:"content"`
}

// StopRequest is the body of POST /v1/app/stop, and its answer.
type StopRequest struct {
	Instance string `json:"instance"`
}

// withApp answers 404 no_app unless the control plane runs an app.
func (a *api) withApp(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.App == nil {
			fail(w, r, http.StatusNotFound, CodeNoApp, "this control plane runs no app: only pylon up manages instances")
			return
		}
		next(w, r)
	}
}

// failApp maps an error of an App to a status and code.
func failApp(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrUnknownProcess):
		fail(w, r, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, ErrBadScale):
		fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, ErrInvalidApp):
		fail(w, r, http.StatusUnprocessableEntity, CodeInvalidConfig, err.Error())
	case errors.Is(err, context.Canceled):
		fail(w, r, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
	default:
		failErr(w, r, err)
	}
}

func (a *api) processes(w http.ResponseWriter, r *http.Request) {
	ps := a.App.Processes()
	if ps == nil {
		ps = []Process{}
	}
	writeJSON(w, http.StatusOK, ProcessList{Items: ps})
}

func (a *api) events(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fail(w, r, http.StatusBadRequest, CodeBadRequest, "since must be a time like 2026-11-26T03:04:05Z: "+err.Error())
			return
		}
		since = t
	}
	out := EventList{Items: []Event{}}
	for _, e := range a.App.Events() {
		if !e.Time.Before(since) {
			out.Items = append(out.Items, e)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// operationContext is the context an operation on the app runs in: it
// goes on when the client leaves (a rolling restart is not left half
// done because the caller gave up waiting), with the request's values.
func operationContext(r *http.Request) context.Context {
	return context.WithoutCancel(r.Context())
}

func (a *api) scale(w http.ResponseWriter, r *http.Request) {
	var req ScaleRequest
	if !decodeBody(w, r, &req) || !required(w, r, "service", req.Service) {
		return
	}
	if err := a.App.Scale(operationContext(r), req.Service, req.Replicas); err != nil {
		failApp(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (a *api) restart(w http.ResponseWriter, r *http.Request) {
	var req RestartRequest
	if !decodeBody(w, r, &req) || !required(w, r, "service", req.Service) {
		return
	}
	if err := a.App.Restart(operationContext(r), req.Service); err != nil {
		failApp(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (a *api) stop(w http.ResponseWriter, r *http.Request) {
	var req StopRequest
	if !decodeBody(w, r, &req) || !required(w, r, "instance", req.Instance) {
		return
	}
	if err := a.App.Stop(operationContext(r), req.Instance); err != nil {
		failApp(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (a *api) applyApp(w http.ResponseWriter, r *http.Request) {
	var req ApplyAppRequest
	if !decodeBody(w, r, &req) || !required(w, r, "filename", req.Filename) || !required(w, r, "content", req.Content) {
		return
	}
	ch, err := a.App.Apply(operationContext(r), req.Filename, []byte(req.Content))
	if err != nil {
		failApp(w, r, err)
		return
	}
	for _, l := range []*[]string{&ch.Added, &ch.Removed, &ch.Changed, &ch.Rescaled} {
		if *l == nil {
			*l = []string{}
		}
	}
	writeJSON(w, http.StatusOK, ch)
}

// required answers 400 when a body's field is empty.
func required(w http.ResponseWriter, r *http.Request, field, v string) bool {
	if v == "" {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, "body: "+field+" is required")
	}
	return v != ""
}
