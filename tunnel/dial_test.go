package tunnel

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDialAnswers checks the request Dial sends and how it reads answers
// that open no tunnel.
func TestDialAnswers(t *testing.T) {
	long := strings.Repeat("x", 2*maxErrorBody)
	tests := []struct {
		name    string
		resp    *http.Response
		rtErr   error
		wantErr string
	}{{
		name:    "refusal with a long body",
		resp:    &http.Response{StatusCode: 403, ProtoMajor: 2, Proto: "HTTP/2.0", Body: io.NopCloser(strings.NewReader(long))},
		wantErr: "tunnel: connect to orders:80 via 10.0.0.1:15006: 403 Forbidden: " + long[:maxErrorBody],
	}, {
		name:    "answered over HTTP/1.1",
		resp:    &http.Response{StatusCode: 200, ProtoMajor: 1, Proto: "HTTP/1.1", Body: http.NoBody},
		wantErr: "tunnel: connect to orders:80 via 10.0.0.1:15006: answered over HTTP/1.1, want HTTP/2",
	}, {
		name:    "transport error",
		rtErr:   errors.New("no route"),
		wantErr: "tunnel: connect to orders:80 via 10.0.0.1:15006: no route",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sent string
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent = r.Method + " " + r.URL.String() + " host=" + r.Host
				return tc.resp, tc.rtErr
			})
			c, err := Dial(context.Background(), rt, "10.0.0.1:15006", "orders:80")
			if err == nil {
				c.Close()
				t.Fatal("Dial: got a tunnel, want an error")
			}
			if diff := cmp.Diff(tc.wantErr, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff("CONNECT https://10.0.0.1:15006 host=orders:80", sent); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}
