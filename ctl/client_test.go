package ctl

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAnswerError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   *APIError
	}{
		{"api error", 422, `{"error":{"code":"invalid_config","message":"m","request_id":"r","details":[{"resource":"route/a","path":"service","message":"x"}]}}`,
			&APIError{Status: 422, Code: "invalid_config", Message: "m", RequestID: "r", Details: []Problem{{Resource: "route/a", Path: "service", Message: "x"}}}},
		{"proxy page", 502, "<html>Bad Gateway</html>\n<body>", &APIError{Status: 502, Code: "http_502", Message: "<html>Bad Gateway</html>"}},
		{"empty body", 503, "", &APIError{Status: 503, Code: "http_503", Message: "Service Unavailable"}},
		{"json without code", 500, `{"error":{}}`, &APIError{Status: 500, Code: "http_500", Message: `{"error":{}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, answerError(tc.status, []byte(tc.body))); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrintAPIError(t *testing.T) {
	var b strings.Builder
	printAPIError(&b, &APIError{Code: "invalid_config", Message: "invalid config:\n  route/a: service: x", Details: []Problem{
		{Resource: "route/a", Path: "service", Message: "x"}, {Resource: "config", Message: "y"}}})
	want := "error: invalid_config: invalid config:\n  route/a: service: x\n  config: y\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

func TestClientDo(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		if r.URL.String() != "/v1/apply?dry_run=true" {
			http.Error(w, "wrong url "+r.URL.String(), http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := &Client{Server: srv.URL + "/", Token: "s3cret"}
	body, err := c.Do(context.Background(), http.MethodPost, "/v1/apply", map[string][]string{"dry_run": {"true"}}, []byte("x: 1"), "application/yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"ok":true}`, "Bearer s3cret", "application/yaml"}, []string{string(body), got.Get("Authorization"), got.Get("Content-Type")}); diff != "" {
		t.Errorf("request and answer (-want +got):\n%s", diff)
	}
	_, err = c.Do(context.Background(), http.MethodGet, "/elsewhere", nil, nil, "")
	var api *APIError
	if !errors.As(err, &api) || api.Code != "http_400" {
		t.Errorf("got %v, want an http_400 APIError", err)
	}
}
