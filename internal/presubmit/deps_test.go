package presubmit

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/pylon-modules.golden")

// TestPylonModules lists the modules the pylon binary is built from and
// compares them with a golden file, so that a change that pulls in a new
// dependency shows it in review. Run `go test ./internal/presubmit -update`
// to accept a change.
func TestPylonModules(t *testing.T) {
	root, module, _ := module(t)
	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./cmd/pylon")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/pylon: %v", err)
	}
	var mods []string
	for _, m := range strings.Fields(string(out)) {
		if m != module {
			mods = append(mods, m)
		}
	}
	slices.Sort(mods)
	mods = slices.Compact(mods)
	got := strings.Join(mods, "\n") + "\n"
	golden := filepath.Join("testdata", "pylon-modules.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/presubmit -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("the modules cmd/pylon is built from changed; if that is intended, run go test ./internal/presubmit -update and commit %s.\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}
