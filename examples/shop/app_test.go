package shop

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/appfile"
)

// TestAppFile parses app.yaml as pylon up will and checks its services and
// that each command names something that exists.
func TestAppFile(t *testing.T) {
	app, err := appfile.Load("app.yaml")
	if err != nil {
		t.Fatalf("app.yaml: %v", err)
	}
	type service struct {
		Name      string
		Replicas  int
		Protocol  string
		Health    string
		Upstreams []string
	}
	var got []service
	for _, s := range app.Services {
		got = append(got, service{s.Name, s.Replicas, s.Protocol, s.Health.Kind, s.Upstreams})
	}
	want := []service{
		{"catalog", 2, "grpc", appfile.HealthGRPC, []string{"redis"}},
		{"inventory", 2, "http1", appfile.HealthHTTP, nil},
		{"orders", 2, "http1", appfile.HealthHTTP, []string{"catalog", "inventory", "redis"}},
		{"storefront-v1", 2, "http1", appfile.HealthHTTP, []string{"catalog", "orders"}},
		{"storefront-v2", 1, "http1", appfile.HealthHTTP, []string{"catalog", "orders"}},
		{"feed", 1, "http1", appfile.HealthHTTP, []string{"redis", "catalog"}},
		{"redis", 1, appfile.ProtocolTCP, appfile.HealthTCP, nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if app.Gateway == nil || len(app.Gateway.Routes) != 2 {
		t.Errorf("got gateway %+v, want one with routes api and feed", app.Gateway)
	}
	if got, want := len(app.Policies), 2; got != want {
		t.Errorf("got %d authorization policies, want %d", got, want)
	}
	for _, s := range app.Services {
		checkCommand(t, s)
	}
}

// checkCommand checks that `go run <path>` names a directory with a main
// package and that any other program is a file in the directory or in
// PATH; a program missing from PATH (redis-server) is only logged, as
// pylon up reports it when it starts.
func checkCommand(t *testing.T, s appfile.Service) {
	t.Helper()
	if len(s.Command) == 3 && s.Command[0] == "go" && s.Command[1] == "run" {
		main := filepath.Join(s.Dir, s.Command[2], "main.go")
		if _, err := os.Stat(main); err != nil {
			t.Errorf("%s: command %q: %v", s.Name, s.Command, err)
		}
		return
	}
	if _, err := exec.LookPath(s.Command[0]); err != nil {
		t.Logf("%s: %s is not installed here; pylon up will say so when it starts the service", s.Name, s.Command[0])
	}
}
