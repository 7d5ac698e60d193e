//go:build linux

package main

import (
	"net/http"
	"testing"
)

func TestCheckEcho(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		n       int64
		wantErr bool
	}{
		{"200 with the body", http.StatusOK, int64(len(body)), false},
		{"other 2xx", http.StatusNoContent, int64(len(body)), true},
		{"short body", http.StatusOK, int64(len(body)) - 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkEcho(tc.status, tc.n); (err != nil) != tc.wantErr {
				t.Errorf("got checkEcho(%d, %d) = %v, want error %v", tc.status, tc.n, err, tc.wantErr)
			}
		})
	}
}
