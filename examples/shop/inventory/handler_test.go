package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/examples/shop/internal/flaky"
)

func newTestServer(t *testing.T, f flaky.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newHandler(&api{stock: newStock(map[string]int{"mug": 3}), instance: "inventory-1"}, f))
	t.Cleanup(srv.Close)
	return srv
}

// do sends a request and returns the status and the decoded JSON body.
func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatalf("%s %s: decoding the body: %v", method, url, err)
	}
	return res.StatusCode, got
}

func TestAPI(t *testing.T) {
	srv := newTestServer(t, flaky.Config{})
	// The steps run in order on one stock of 3 mugs.
	steps := []struct {
		name, method, path, body string
		wantStatus               int
		want                     map[string]any
	}{
		{
			name: "level", method: http.MethodGet, path: "/stock/mug", wantStatus: http.StatusOK,
			want: map[string]any{"sku": "mug", "available": 3.0, "instance": "inventory-1"},
		},
		{
			name: "reserve", method: http.MethodPost, path: "/reserve", body: `{"sku":"mug","qty":2}`, wantStatus: http.StatusOK,
			want: map[string]any{"sku": "mug", "qty": 2.0, "remaining": 1.0, "instance": "inventory-1"},
		},
		{
			name: "not enough", method: http.MethodPost, path: "/reserve", body: `{"sku":"mug","qty":2}`, wantStatus: http.StatusConflict,
			want: errorBody("insufficient_stock", `reserve 2 of "mug": only 1 left: not enough stock`),
		},
		{
			name: "level after", method: http.MethodGet, path: "/stock/mug", wantStatus: http.StatusOK,
			want: map[string]any{"sku": "mug", "available": 1.0, "instance": "inventory-1"},
		},
		{
			name: "unknown sku", method: http.MethodGet, path: "/stock/anvil", wantStatus: http.StatusNotFound,
			want: errorBody("unknown_sku", `no sku "anvil"`),
		},
		{
			name: "reserve unknown sku", method: http.MethodPost, path: "/reserve", body: `{"sku":"anvil","qty":1}`, wantStatus: http.StatusNotFound,
			want: errorBody("unknown_sku", `reserve 1 of "anvil": unknown sku`),
		},
		{
			name: "zero qty", method: http.MethodPost, path: "/reserve", body: `{"sku":"mug","qty":0}`, wantStatus: http.StatusBadRequest,
			want: errorBody("bad_request", "a reservation needs a sku and a qty of at least 1"),
		},
		{
			name: "unknown field", method: http.MethodPost, path: "/reserve", body: `{"sku":"mug","qty":1,"price":0}`, wantStatus: http.StatusBadRequest,
			want: errorBody("bad_request", `decode request body: json: unknown field "price"`),
		},
		{name: "health", method: http.MethodGet, path: "/healthz", wantStatus: http.StatusOK, want: map[string]any{"status": "ok"}},
	}
	for _, s := range steps {
		status, got := do(t, s.method, srv.URL+s.path, s.body)
		if status != s.wantStatus {
			t.Errorf("%s: got status %d, want %d", s.name, status, s.wantStatus)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: body (-want +got):\n%s", s.name, diff)
		}
	}
}

func errorBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

// TestReserveConcurrently checks that parallel reservations never sell more
// than the stock: of 20 tries at one mug each against 3 mugs, exactly 3
// succeed.
func TestReserveConcurrently(t *testing.T) {
	srv := newTestServer(t, flaky.Config{})
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for range 20 {
		wg.Go(func() {
			res, err := http.Post(srv.URL+"/reserve", "application/json", strings.NewReader(`{"sku":"mug","qty":1}`))
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	if diff := cmp.Diff(map[int]int{http.StatusOK: 3, http.StatusConflict: 17}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestFlakyInstance checks that the flaky middleware covers the API but
// not the health check.
func TestFlakyInstance(t *testing.T) {
	srv := newTestServer(t, flaky.Config{ErrorRate: 1})
	tests := []struct {
		path       string
		wantStatus int
	}{
		{path: "/stock/mug", wantStatus: http.StatusServiceUnavailable},
		{path: "/healthz", wantStatus: http.StatusOK},
	}
	for _, tc := range tests {
		if status, _ := do(t, http.MethodGet, srv.URL+tc.path, ""); status != tc.wantStatus {
			t.Errorf("GET %s: got status %d, want %d", tc.path, status, tc.wantStatus)
		}
	}
}
