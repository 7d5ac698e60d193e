package adminapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/jointoken"
)

func TestTokens(t *testing.T) {
	h := newHarness(t)
	resp := h.do(t, "POST", "/v1/tokens", `{"service":"orders","max_uses":1,"ttl":"1h","description":"orders-1"}`)
	want(t, resp, http.StatusCreated, "")
	var created adminapi.TokenCreated
	decode(t, resp, &created)
	wantInfo := jointoken.Token{Kind: jointoken.Join, Service: "orders", Namespace: "default", MaxUses: 1, Description: "orders-1"}
	if diff := cmp.Diff(wantInfo, created.Info, cmpopts.IgnoreFields(jointoken.Token{}, "ID", "Created", "Expires")); diff != "" {
		t.Errorf("token info (-want +got):\n%s", diff)
	}
	if created.Info.Expires.IsZero() {
		t.Errorf("got no expiry, want one for ttl 1h")
	}

	var certs adminapi.Certs
	decode(t, h.do(t, "GET", "/v1/certs", ""), &certs)
	parts := strings.Split(created.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("got join token %q, want three dot-separated parts", created.Token)
	}
	if diff := cmp.Diff([2]string{created.Info.ID, certs.Pin}, [2]string{parts[0], parts[2]}); diff != "" {
		t.Errorf("join token's id and pin (-want +got):\n%s", diff)
	}
	if _, err := h.tokens.Check(t.Context(), parts[0]+"."+parts[1], jointoken.Join); err != nil {
		t.Errorf("check the join token's secret: got %v, want it valid", err)
	}

	var list struct {
		Items []jointoken.Token `json:"items"`
	}
	decode(t, h.do(t, "GET", "/v1/tokens", ""), &list)
	var kinds []string
	for _, tok := range list.Items {
		kinds = append(kinds, string(tok.Kind))
	}
	slices.Sort(kinds)
	if diff := cmp.Diff([]string{"admin", "join"}, kinds); diff != "" {
		t.Errorf("listed token kinds (-want +got):\n%s", diff)
	}
	if strings.Contains(string(h.do(t, "GET", "/v1/tokens", "").body), parts[1]) {
		t.Errorf("the token list shows a secret")
	}

	want(t, h.do(t, "DELETE", "/v1/tokens/"+created.Info.ID, ""), http.StatusNoContent, "")
	want(t, h.do(t, "DELETE", "/v1/tokens/"+created.Info.ID, ""), http.StatusNotFound, "not_found")
	if _, err := h.tokens.Check(t.Context(), parts[0]+"."+parts[1], jointoken.Join); err == nil {
		t.Errorf("check a revoked join token: got nil error, want one")
	}
}

func TestTokenBadRequests(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		body string
	}{
		{"join without service", `{}`},
		{"join with kind but no service", `{"kind":"join","namespace":"prod"}`},
		{"unknown kind", `{"kind":"root","service":"orders"}`},
		{"admin naming a service", `{"kind":"admin","service":"orders"}`},
		{"admin naming a namespace", `{"kind":"admin","namespace":"prod"}`},
		{"negative max_uses", `{"service":"orders","max_uses":-1}`},
		{"ttl without unit", `{"service":"orders","ttl":"24"}`},
		{"negative ttl", `{"service":"orders","ttl":"-1h"}`},
		{"bad service name", `{"service":"Orders!"}`},
		{"unknown field", `{"service":"orders","uses":3}`},
		{"not JSON", `service: orders`},
		{"empty body", ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want(t, h.do(t, "POST", "/v1/tokens", tc.body), http.StatusBadRequest, "bad_request")
		})
	}
	var list struct {
		Items []jointoken.Token `json:"items"`
	}
	decode(t, h.do(t, "GET", "/v1/tokens", ""), &list)
	if len(list.Items) != 1 {
		t.Errorf("got %d tokens, want only the harness's admin token: %+v", len(list.Items), list.Items)
	}
}
