package ctl

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// closedURL is the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestExitCodes(t *testing.T) {
	s := newServer(t)
	must(t, s.ctl(t, "apply", "-f", exampleConfig))
	down := map[string]string{"PYLON_SERVER": closedURL(t), "PYLON_TOKEN": s.Token}
	tests := []struct {
		name string
		vars map[string]string
		args []string
		code int
		// stderr is how stderr starts.
		stderr string
	}{
		{"no command", s.env(), nil, ExitUsage, "error: no command given\n"},
		{"unknown command", s.env(), []string{"frob"}, ExitUsage, `error: unknown command "frob"`},
		{"unknown kind", s.env(), []string{"get", "widgets"}, ExitUsage, `error: unknown kind "widgets"`},
		{"get without kind", s.env(), []string{"get"}, ExitUsage, "error: get takes a kind"},
		{"unknown flag", s.env(), []string{"get", "services", "--frob"}, ExitUsage, "error: flag provided but not defined: -frob"},
		{"bad output", s.env(), []string{"get", "services", "-o", "xml"}, ExitUsage, `error: --output: "xml" is not table, json or yaml`},
		{"describe a token", s.env(), []string{"describe", "tokens", "x"}, ExitUsage, "error: describe works on listeners, routes, services, policies, consumers and authorization_policies, not tokens"},
		{"token without subcommand", s.env(), []string{"token"}, ExitUsage, "error: token: no subcommand given"},
		{"token create without service", s.env(), []string{"token", "create"}, ExitUsage, "error: token create needs --service"},
		{"apply without file", s.env(), []string{"apply"}, ExitUsage, "error: apply needs -f FILE"},
		{"apply missing file", s.env(), []string{"apply", "-f", "nonexistent.yaml"}, ExitFailed, "error: read config document: "},
		{"help", s.env(), []string{"get", "-h"}, ExitOK, "usage: pylon ctl get <kind> [name]"},
		{"unreachable", down, []string{"get", "services"}, ExitUnreachable, "error: cannot reach the control plane at http://127.0.0.1:"},
		{"unreachable apply", down, []string{"apply", "-f", exampleConfig}, ExitUnreachable, "error: cannot reach the control plane"},
		{"bad token", map[string]string{"PYLON_SERVER": s.URL, "PYLON_TOKEN": "0123abcd.bad"}, []string{"get", "services"}, ExitFailed, "error: unauthenticated: "},
		{"no token", map[string]string{"PYLON_SERVER": s.URL}, []string{"get", "services"}, ExitFailed, "error: unauthenticated: "},
		{"missing service", s.env(), []string{"get", "service", "nope"}, ExitFailed, `error: not_found: no service named "nope"`},
		{"missing token", s.env(), []string{"get", "token", "nope"}, ExitFailed, `error: not_found: no token with id "nope"`},
		{"delete missing", s.env(), []string{"delete", "route", "nope"}, ExitFailed, "error: not_found: "},
		{"delete a used service", s.env(), []string{"delete", "svc", "orders"}, ExitFailed, "error: invalid_config: invalid config:\n  route/orders: service: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.vars, "", tc.args...)
			if r.Code != tc.code || !strings.HasPrefix(r.Stderr, tc.stderr) || r.Stdout != "" {
				t.Errorf("got exit %d, stdout %q, stderr:\n%s\nwant exit %d, no stdout, stderr starting:\n%s", r.Code, r.Stdout, r.Stderr, tc.code, tc.stderr)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer stuck.Close()
	r := run(t, map[string]string{"PYLON_SERVER": stuck.URL}, "", "get", "services", "--timeout", "50ms")
	want := "error: cannot reach the control plane at " + stuck.URL + ": context deadline exceeded\n"
	if r.Code != ExitUnreachable || r.Stderr != want {
		t.Errorf("got exit %d, stderr %q, want 3 and %q", r.Code, r.Stderr, want)
	}
}

func TestUsageDocumentsExitCodes(t *testing.T) {
	r := run(t, nil, "", "--help")
	for _, want := range []string{"0 success", "1 the server refused or failed the request", "2 usage error", "3 the server could not be reached"} {
		if r.Code != ExitOK || !strings.Contains(strings.Join(strings.Fields(r.Stderr), " "), want) {
			t.Errorf("got exit %d and usage:\n%s\nwant exit 0 and usage saying %q", r.Code, r.Stderr, want)
		}
	}
}

func TestGlobalFlags(t *testing.T) {
	s := newServer(t)
	must(t, s.ctl(t, "apply", "-f", exampleConfig))
	want := must(t, s.ctl(t, "get", "services", "-o", "json")).Stdout
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(tokenFile, []byte(s.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serverOnly := map[string]string{"PYLON_SERVER": s.URL}
	badToken := map[string]string{"PYLON_SERVER": s.URL, "PYLON_TOKEN": "0123abcd.bad"}
	tests := []struct {
		name string
		vars map[string]string
		args []string
	}{
		{"flags before", nil, []string{"--server", s.URL, "--token", s.Token, "-o", "json", "get", "services"}},
		{"flags after", nil, []string{"get", "services", "--server", s.URL, "--token", s.Token, "--output", "json"}},
		{"flags between", nil, []string{"get", "--server=" + s.URL, "services", "--token=" + s.Token, "-o=json"}},
		{"flags everywhere", nil, []string{"-o", "json", "get", "--server", s.URL, "services", "--token", s.Token}},
		{"environment", s.env(), []string{"get", "services", "-o", "json"}},
		{"token file", serverOnly, []string{"--token-file", tokenFile, "get", "services", "-o", "json"}},
		{"flag beats environment", badToken, []string{"get", "services", "-o", "json", "--token", s.Token}},
		{"token beats token file", serverOnly, []string{"--token-file", "/nonexistent", "--token", s.Token, "get", "services", "-o", "json"}},
		{"server without scheme", nil, []string{"get", "services", "-o", "json", "--server", strings.TrimPrefix(s.URL, "http://"), "--token", s.Token}},
		{"timeout", s.env(), []string{"get", "services", "-o", "json", "--timeout", "5s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := must(t, run(t, tc.vars, "", tc.args...))
			if diff := cmp.Diff(want, r.Stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultServer(t *testing.T) {
	g := newGlobals(func(string) string { return "" })
	if diff := cmp.Diff([]string{DefaultServer, "", "table", DefaultTimeout.String()}, []string{g.server, g.token, g.output, g.timeout.String()}); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"a", "-x", "1", "b"}, []string{"a", "b"}},
		{[]string{"-x", "1", "a", "--", "-x", "b"}, []string{"a", "-x", "b"}},
		{[]string{"a", "-", "b"}, []string{"a", "-", "b"}},
		{nil, nil},
	}
	for _, tc := range tests {
		fs := newFlagSet("test")
		fs.String("x", "", "")
		got, err := parseInterspersed(fs, tc.args)
		if err != nil {
			t.Fatalf("parse %q: %v", tc.args, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parse %q (-want +got):\n%s", tc.args, diff)
		}
	}
}
