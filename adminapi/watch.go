package adminapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/store"
)

// WatchEvent is one line of a watch stream (newline-delimited JSON).
type WatchEvent struct {
	// Type is "put" or "delete"; "error" ends the stream.
	Type     string    `json:"type"`
	Revision int64     `json:"revision"`
	Resource *Resource `json:"resource,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// watch streams changes to resources of kind k. Without ?revision the
// stream starts with every current resource as a put; with it, it resumes
// after that revision.
func (a *api) watch(w http.ResponseWriter, r *http.Request, k resource.Kind) {
	after := int64(0)
	var initial []*resource.Item
	if v := r.URL.Query().Get("revision"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fail(w, r, http.StatusBadRequest, CodeBadRequest, "revision must be a non-negative integer")
			return
		}
		after = n
	} else {
		st, err := resource.Load(r.Context(), a.store)
		if err != nil {
			failErr(w, r, err)
			return
		}
		after, initial = st.Revision, st.List(k)
	}
	events := a.store.Watch(r.Context(), resource.Prefix+k.Plural+"/", after)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	for _, it := range initial {
		res := toResource(it)
		enc.Encode(WatchEvent{Type: "put", Revision: it.Version, Resource: &res})
	}
	flush()
	for resp := range events {
		if resp.Err != nil {
			if r.Context().Err() == nil {
				enc.Encode(WatchEvent{Type: "error", Revision: resp.Revision, Error: resp.Err.Error()})
			}
			return
		}
		for _, ev := range resp.Events {
			name := strings.TrimPrefix(ev.KV.Key, resource.Prefix+k.Plural+"/")
			out := WatchEvent{Type: "put", Revision: resp.Revision, Resource: &Resource{Kind: k.Name, Name: name, Version: ev.KV.ModRevision}}
			if ev.Type == store.Delete {
				out.Type = "delete"
			} else if it, err := resource.FromKV(ev.KV); err == nil {
				out.Resource.Spec = it.Spec
			}
			if err := enc.Encode(out); err != nil {
				return
			}
		}
		flush()
	}
}
