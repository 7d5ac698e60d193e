package ctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenCreate(t *testing.T) {
	s := newServer(t)
	r := must(t, s.ctl(t, "token", "create", "--service", "edge", "--uses", "3", "--ttl", "24h", "--description", "edge gateway"))
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != 1 || !strings.HasSuffix(r.Stdout, "\n") || strings.ContainsAny(lines[0], " \t") {
		t.Fatalf("got stdout %q, want exactly one line holding the token", r.Stdout)
	}
	id, _, _ := strings.Cut(lines[0], ".")
	if !strings.HasSuffix(lines[0], ".test-pin") {
		t.Errorf("got token %q, want the CA's pin at its end", lines[0])
	}

	r = must(t, s.ctl(t, "get", "token", id, "-o", "json"))
	var info struct {
		ID, Kind, Service, Namespace, Description string
		MaxUses                                   int `json:"max_uses"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("parse get token -o json: %v\n%s", err, r.Stdout)
	}
	want := struct {
		ID, Kind, Service, Namespace, Description string
		MaxUses                                   int `json:"max_uses"`
	}{id, "join", "edge", "default", "edge gateway", 3}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("created token (-want +got):\n%s", diff)
	}

	r = must(t, s.ctl(t, "token", "list"))
	if diff := cmp.Diff([]string{id, "join", "edge", "0/3", "24h"}, rowOf(r.Stdout, id)); diff != "" {
		t.Errorf("token list row (-want +got):\n%s\n%s", diff, r.Stdout)
	}

	r = must(t, s.ctl(t, "token", "revoke", id))
	if diff := cmp.Diff("token/"+id+" revoked\n", r.Stdout); diff != "" {
		t.Errorf("revoke stdout (-want +got):\n%s", diff)
	}
	if r := s.ctl(t, "get", "token", id); r.Code != ExitFailed || !strings.HasPrefix(r.Stderr, "error: not_found: ") {
		t.Errorf("got exit %d, stderr %q for a revoked token, want 1 and not_found", r.Code, r.Stderr)
	}
	if r := s.ctl(t, "token", "revoke", id); r.Code != ExitFailed || !strings.HasPrefix(r.Stderr, "error: not_found: ") {
		t.Errorf("got exit %d, stderr %q revoking twice, want 1 and not_found", r.Code, r.Stderr)
	}
}

func TestTokenCreateAdmin(t *testing.T) {
	s := newServer(t)
	secret := strings.TrimSpace(must(t, s.ctl(t, "token", "create", "--admin")).Stdout)
	r := must(t, run(t, map[string]string{"PYLON_SERVER": s.URL, "PYLON_TOKEN": secret}, "", "get", "tokens"))
	id, _, _ := strings.Cut(secret, ".")
	if diff := cmp.Diff([]string{id, "admin", "-", "0/unlimited", "never"}, rowOf(r.Stdout, id)); diff != "" {
		t.Errorf("tokens row of the new admin token (-want +got):\n%s\n%s", diff, r.Stdout)
	}
	if r := s.ctl(t, "delete", "token", id); r.Code != ExitOK || r.Stdout != "token/"+id+" revoked\n" {
		t.Errorf("got exit %d, stdout %q, stderr %q for delete token, want it revoked", r.Code, r.Stdout, r.Stderr)
	}
	r = run(t, map[string]string{"PYLON_SERVER": s.URL, "PYLON_TOKEN": secret}, "", "get", "tokens")
	if r.Code != ExitFailed || !strings.HasPrefix(r.Stderr, "error: unauthenticated: ") {
		t.Errorf("got exit %d, stderr %q with a revoked admin token, want 1 and unauthenticated", r.Code, r.Stderr)
	}
}

func TestTokenCreateJSON(t *testing.T) {
	s := newServer(t)
	r := must(t, s.ctl(t, "token", "create", "--service", "edge", "-o", "json"))
	var created struct {
		Token string
		Info  struct{ ID, Service string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &created); err != nil {
		t.Fatalf("parse token create -o json: %v\n%s", err, r.Stdout)
	}
	if !strings.HasPrefix(created.Token, created.Info.ID+".") || created.Info.Service != "edge" {
		t.Errorf("got %+v, want a token for edge starting with its id", created)
	}
}

// rowOf returns the fields of the table line whose first field is key.
func rowOf(table, key string) []string {
	for line := range strings.SplitSeq(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return f
		}
	}
	return nil
}
