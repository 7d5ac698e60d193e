package h2server

import (
	"net/http"
	"testing"
)

// A response's header fields are snapshotted when the status is set; for
// the few fields most responses carry, that must cost no allocation (it
// happens once per request in every called sidecar).
func TestHeaderSnapshotOfASmallResponseAllocatesNothing(t *testing.T) {
	st := &stream{req: &http.Request{Method: http.MethodGet}}
	h := http.Header{
		"Content-Type":   {"text/plain"},
		"Content-Length": {"64"},
		"Date":           {"Fri, 27 Nov 2026 12:00:00 GMT"},
		"X-Request-Id":   {"0123456789abcdef0123456789abcdef"},
		"Server":         {"echo"},
	}
	allocs := testing.AllocsPerRun(100, func() {
		st.w = responseWriter{st: st, header: h}
		st.w.WriteHeader(http.StatusOK)
	})
	if allocs != 0 {
		t.Errorf("got %v allocations per snapshot of %d fields, want 0", allocs, len(h))
	}
	if got := len(st.w.fields); got != len(h) {
		t.Errorf("snapshot has %d fields, want %d", got, len(h))
	}
	if st.w.declared != 64 {
		t.Errorf("declared length %d, want 64", st.w.declared)
	}
}
