package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
)

// watchDeadline bounds how long a test waits for watch events.
const watchDeadline = 10 * time.Second

// watchStream is an open ?watch request.
type watchStream struct {
	dec *json.Decoder
	doc *openapiDoc
}

func (h *harness) watch(t *testing.T, path string) *watchStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), watchDeadline)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", h.url+path, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+h.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d, want 200", path, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("GET %s: got Content-Type %q, want application/x-ndjson", path, ct)
	}
	return &watchStream{dec: json.NewDecoder(resp.Body), doc: h.doc}
}

// next reads n events as "type name" lines (the request's deadline bounds
// the wait).
func (w *watchStream) next(t *testing.T, n int) ([]string, []adminapi.WatchEvent) {
	t.Helper()
	var lines []string
	var events []adminapi.WatchEvent
	for range n {
		var raw any
		if err := w.dec.Decode(&raw); err != nil {
			t.Fatalf("read watch event %d of %d (so far %q): %v", len(lines)+1, n, lines, err)
		}
		for _, p := range w.doc.validate(map[string]any{"$ref": "#/components/schemas/WatchEvent"}, raw, "$") {
			t.Errorf("watch event %v does not match the documented schema: %s", raw, p)
		}
		b, _ := json.Marshal(raw)
		var ev adminapi.WatchEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("decode watch event %s: %v", b, err)
		}
		name := ""
		if ev.Resource != nil {
			name = ev.Resource.Name
		}
		lines = append(lines, ev.Type+" "+name)
		events = append(events, ev)
	}
	return lines, events
}

func TestWatch(t *testing.T) {
	h := newHarness(t)
	want(t, h.do(t, "POST", "/v1/services", "name: a\nendpoints: [127.0.0.1:1]\n"), http.StatusCreated, "")
	want(t, h.do(t, "POST", "/v1/services", "name: b\nendpoints: [127.0.0.1:2]\n"), http.StatusCreated, "")
	want(t, h.do(t, "POST", "/v1/listeners", "name: web\naddress: 127.0.0.1:8080\n"), http.StatusCreated, "")

	w := h.watch(t, "/v1/services?watch")
	got, _ := w.next(t, 2)
	if diff := cmp.Diff([]string{"put a", "put b"}, got); diff != "" {
		t.Fatalf("initial events (-want +got):\n%s", diff)
	}

	want(t, h.do(t, "POST", "/v1/services", "name: c\nendpoints: [127.0.0.1:3]\n"), http.StatusCreated, "")
	want(t, h.do(t, "POST", "/v1/listeners", "name: api\naddress: 127.0.0.1:8081\n"), http.StatusCreated, "") // another kind: not seen
	want(t, h.do(t, "PUT", "/v1/services/a", "name: a\nendpoints: [127.0.0.1:4]\n"), http.StatusOK, "")
	want(t, h.do(t, "DELETE", "/v1/services/c", ""), http.StatusOK, "")

	got, events := w.next(t, 3)
	if diff := cmp.Diff([]string{"put c", "put a", "delete c"}, got); diff != "" {
		t.Errorf("events after the watch began (-want +got):\n%s", diff)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Revision <= events[i-1].Revision {
			t.Errorf("got revisions %d then %d, want them increasing", events[i-1].Revision, events[i].Revision)
		}
	}
	if put := events[1]; put.Resource.Kind != "service" || len(put.Resource.Spec) == 0 || put.Resource.Version != put.Revision {
		t.Errorf("got put %+v, want a service with its spec at the event's revision", put.Resource)
	}
}

func TestWatchResumesFromRevision(t *testing.T) {
	h := newHarness(t)
	want(t, h.do(t, "POST", "/v1/services", "name: a\nendpoints: [127.0.0.1:1]\n"), http.StatusCreated, "")
	var list adminapi.List
	decode(t, h.do(t, "GET", "/v1/services", ""), &list)
	want(t, h.do(t, "POST", "/v1/services", "name: b\nendpoints: [127.0.0.1:2]\n"), http.StatusCreated, "")

	w := h.watch(t, "/v1/services?watch&revision="+strconv.FormatInt(list.Revision, 10))
	got, _ := w.next(t, 1)
	if diff := cmp.Diff([]string{"put b"}, got); diff != "" {
		t.Errorf("events after the list's revision (-want +got):\n%s", diff)
	}

	for _, bad := range []string{"-1", "yesterday"} {
		want(t, h.do(t, "GET", "/v1/services?watch&revision="+bad, ""), http.StatusBadRequest, "bad_request")
	}
	want(t, h.do(t, "GET", "/v1/widgets?watch", ""), http.StatusNotFound, "not_found")
}
