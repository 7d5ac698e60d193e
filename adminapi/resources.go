package adminapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/store"
)

// maxBody bounds a request body: a whole config document fits easily.
const maxBody = 8 << 20

// Resource is a config resource as the API shows it.
type Resource struct {
	Kind    string          `json:"kind"`
	Name    string          `json:"name"`
	Version int64           `json:"version"`
	Spec    json.RawMessage `json:"spec"`
}

func toResource(it *resource.Item) Resource {
	return Resource{Kind: it.Kind.Name, Name: it.Name, Version: it.Version, Spec: it.Spec}
}

// List is a collection of resources at one store revision.
type List struct {
	Revision int64      `json:"revision"`
	Items    []Resource `json:"items"`
}

func (a *api) kind(w http.ResponseWriter, r *http.Request) (resource.Kind, bool) {
	k, ok := resource.KindOf(r.PathValue("kind"))
	if !ok || k.Plural != r.PathValue("kind") {
		fail(w, r, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no resource kind %q; kinds are %s", r.PathValue("kind"), strings.Join(resource.Plurals(), ", ")))
		return resource.Kind{}, false // a singular name ("service") is found but refused
	}
	return k, true
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(w, r)
	if !ok {
		return
	}
	if q := r.URL.Query(); q.Has("watch") && (q.Get("watch") == "" || q.Get("watch") == "true" || q.Get("watch") == "1") {
		a.watch(w, r, k)
		return
	}
	st, err := resource.Load(r.Context(), a.store)
	if err != nil {
		failErr(w, r, err)
		return
	}
	out := List{Revision: st.Revision, Items: []Resource{}}
	for _, it := range st.List(k) {
		out.Items = append(out.Items, toResource(it))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(w, r)
	if !ok {
		return
	}
	st, err := resource.Load(r.Context(), a.store)
	if err != nil {
		failErr(w, r, err)
		return
	}
	it, found := st.Get(k, r.PathValue("name"))
	if !found {
		fail(w, r, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no %s named %q", k.Name, r.PathValue("name")))
		return
	}
	w.Header().Set("ETag", etag(it.Version))
	writeJSON(w, http.StatusOK, toResource(it))
}

func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// condition reads If-Match / If-None-Match into a store revision condition.
func condition(r *http.Request, dflt int64) (int64, error) {
	if m := r.Header.Get("If-Match"); m != "" {
		v, err := strconv.ParseInt(strings.Trim(m, `"`), 10, 64)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("If-Match must be a resource version like \"42\", not %q", m)
		}
		return v, nil
	}
	if r.Header.Get("If-None-Match") == "*" {
		return store.Absent, nil
	}
	return dflt, nil
}

// write creates (POST) or creates-or-replaces (PUT) one resource.
func (a *api) write(w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(w, r)
	if !ok {
		return
	}
	dflt := store.Any
	if r.Method == http.MethodPost {
		dflt = store.Absent
	}
	cond, err := condition(r, dflt)
	if err != nil {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, "read body: "+err.Error())
		return
	}
	name, spec, err := resource.DecodeItem(k, "body", body)
	if err != nil {
		failErr(w, r, err)
		return
	}
	if want := r.PathValue("name"); want != "" && want != name {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("the body names %s %q but the path names %q", k.Name, name, want))
		return
	}
	outs, err := resource.Write(r.Context(), a.store, []resource.Change{{Kind: k, Name: name, Spec: spec, IfVersion: cond}}, dryRun(r))
	if err != nil {
		failErr(w, r, err)
		return
	}
	status := http.StatusOK
	if outs[0].Action == resource.Created {
		status = http.StatusCreated
	}
	if outs[0].Version > 0 {
		w.Header().Set("ETag", etag(outs[0].Version))
	}
	writeJSON(w, status, outs[0])
}

func (a *api) remove(w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(w, r)
	if !ok {
		return
	}
	cond, err := condition(r, store.Any)
	if err != nil {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	outs, err := resource.Write(r.Context(), a.store, []resource.Change{{Kind: k, Name: r.PathValue("name"), Delete: true, IfVersion: cond}}, dryRun(r))
	if err != nil {
		failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, outs[0])
}

func dryRun(r *http.Request) bool {
	v := r.URL.Query().Get("dry_run")
	return v == "true" || v == "1"
}

// ApplyResult is what POST /v1/apply answers.
type ApplyResult struct {
	DryRun   bool               `json:"dry_run"`
	Outcomes []resource.Outcome `json:"outcomes"`
	Notes    []string           `json:"notes,omitempty"`
}

// apply writes every resource in a config document at once.
func (a *api) apply(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, "read body: "+err.Error())
		return
	}
	name := r.URL.Query().Get("filename")
	if name == "" {
		name = "body"
	}
	changes, notes, err := resource.DecodeDocument(name, body)
	if err != nil {
		failErr(w, r, err)
		return
	}
	outs, err := resource.Write(r.Context(), a.store, changes, dryRun(r))
	if err != nil {
		failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ApplyResult{DryRun: dryRun(r), Outcomes: outs, Notes: notes})
}
