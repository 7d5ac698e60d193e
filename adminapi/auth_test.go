package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
)

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	join := h.do(t, "POST", "/v1/tokens", `{"service":"orders"}`)
	want(t, join, http.StatusCreated, "")
	var created adminapi.TokenCreated
	decode(t, join, &created)
	parts := strings.Split(created.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("got join token %q, want <id>.<secret>.<pin>", created.Token)
	}
	tests := []struct {
		name          string
		authorization string
		wantStatus    int
		wantChallenge string
	}{
		{"no token", "", http.StatusUnauthorized, `Bearer realm="pylon"`},
		{"empty bearer", "Bearer ", http.StatusUnauthorized, `Bearer realm="pylon"`},
		{"basic auth", "Basic YWRtaW46YWRtaW4=", http.StatusUnauthorized, `Bearer realm="pylon"`},
		{"wrong token", "Bearer 0123abcd.bm90LWEtc2VjcmV0", http.StatusUnauthorized, `Bearer realm="pylon", error="invalid_token"`},
		{"admin id with wrong secret", "Bearer " + strings.Split(h.admin, ".")[0] + ".AAAA", http.StatusUnauthorized, `Bearer realm="pylon", error="invalid_token"`},
		{"join token", "Bearer " + parts[0] + "." + parts[1], http.StatusUnauthorized, `Bearer realm="pylon", error="invalid_token"`},
		{"join token with pin", "Bearer " + created.Token, http.StatusUnauthorized, `Bearer realm="pylon", error="invalid_token"`},
		{"admin token", "Bearer " + h.admin, http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(t, "GET", "/v1/services", "", "Authorization", tc.authorization)
			code := ""
			if tc.wantStatus == http.StatusUnauthorized {
				code = "unauthenticated"
			}
			want(t, resp, tc.wantStatus, code)
			if diff := cmp.Diff(tc.wantChallenge, resp.header.Get("WWW-Authenticate")); diff != "" {
				t.Errorf("WWW-Authenticate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRevokedAdminTokenIsRefused(t *testing.T) {
	h := newHarness(t)
	resp := h.do(t, "POST", "/v1/tokens", `{"kind":"admin","description":"ci"}`)
	want(t, resp, http.StatusCreated, "")
	var created adminapi.TokenCreated
	decode(t, resp, &created)
	if n := strings.Count(created.Token, "."); n != 1 {
		t.Fatalf("got admin token %q with %d dots, want <id>.<secret>", created.Token, n)
	}
	auth := "Bearer " + created.Token
	want(t, h.do(t, "GET", "/v1/tokens", "", "Authorization", auth), http.StatusOK, "")
	want(t, h.do(t, "DELETE", "/v1/tokens/"+created.Info.ID, ""), http.StatusNoContent, "")
	want(t, h.do(t, "GET", "/v1/tokens", "", "Authorization", auth), http.StatusUnauthorized, "unauthenticated")
}
