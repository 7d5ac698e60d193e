package flaky

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr bool
	}{
		{name: "unset", env: map[string]string{EnvErrorRate: "0.5"}},
		{name: "another instance", env: map[string]string{EnvInstance: "inventory-2", EnvErrorRate: "0.5"}},
		{
			name: "this instance",
			env:  map[string]string{EnvInstance: "inventory-1", EnvErrorRate: "0.25", EnvLatency: "150ms"},
			want: Config{ErrorRate: 0.25, Latency: 150 * time.Millisecond},
		},
		{name: "only latency", env: map[string]string{EnvInstance: "inventory-1", EnvLatency: "1s"}, want: Config{Latency: time.Second}},
		{name: "rate above 1", env: map[string]string{EnvInstance: "inventory-1", EnvErrorRate: "1.5"}, wantErr: true},
		{name: "rate not a number", env: map[string]string{EnvInstance: "inventory-1", EnvErrorRate: "half"}, wantErr: true},
		{name: "latency without unit", env: map[string]string{EnvInstance: "inventory-1", EnvLatency: "200"}, wantErr: true},
		{name: "negative latency", env: map[string]string{EnvInstance: "inventory-1", EnvLatency: "-1s"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromEnv(func(k string) string { return tc.env[k] }, "inventory-1")
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v, want error: %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorRate sends n requests through the middleware and checks the
// share answered 503. With n = 20000 the standard deviation of the share is
// at most 0.0036, so the tolerance of 0.025 is about seven deviations: the
// test fails for a wrong rate, practically never by chance.
func TestErrorRate(t *testing.T) {
	const n = 20000
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, rate := range []float64{0, 0.1, 0.5, 1} {
		h := Config{ErrorRate: rate}.Middleware(ok)
		failed := 0
		for range n {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stock/mug", nil))
			switch rec.Code {
			case http.StatusServiceUnavailable:
				failed++
			case http.StatusNoContent:
			default:
				t.Fatalf("rate %g: got status %d, want 503 or 204", rate, rec.Code)
			}
		}
		got := float64(failed) / n
		if d := got - rate; d < -0.025 || d > 0.025 {
			t.Errorf("rate %g: got share of 503 %.4f, want %g ± 0.025", rate, got, rate)
		}
	}
}

func TestErrorBody(t *testing.T) {
	h := Config{ErrorRate: 1}.Middleware(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	want := `{"error":{"code":"flaky","message":"this instance fails 100% of its requests on purpose (FLAKY_ERROR_RATE)"}}` + "\n"
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestLatency(t *testing.T) {
	const latency = 30 * time.Millisecond
	h := Config{Latency: latency}.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	start := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if got := time.Since(start); got < latency {
		t.Errorf("got a request served after %v, want at least %v", got, latency)
	}
}

func TestLatencyGivesUpWithClient(t *testing.T) {
	reached := false
	h := Config{Latency: time.Hour}.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	h.ServeHTTP(httptest.NewRecorder(), r.WithContext(ctx))
	if reached {
		t.Error("got the handler reached after the client left, want it skipped")
	}
}

func TestInactiveIsIdentity(t *testing.T) {
	next := http.NewServeMux()
	if h := (Config{}).Middleware(next); h != http.Handler(next) {
		t.Errorf("got the zero Config wrapping the handler in %T, want it returned as is", h)
	}
}
