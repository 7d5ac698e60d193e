package test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pylon-mesh/pylon/config"
)

// yamlBlock finds fenced YAML blocks in markdown.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// sidecarFileMark precedes the YAML blocks of the docs that are `pylon
// sidecar -c` files, not configs: TestSidecarFileDocExample checks those.
const sidecarFileMark = "<!-- sidecar-file -->\n"

// isSidecarFile reports whether the yaml block starting at offset start
// (the index of its first content byte) is marked as a sidecar file.
func isSidecarFile(doc []byte, start int) bool {
	fence := bytes.LastIndex(doc[:start], []byte("```yaml"))
	return fence >= 0 && bytes.HasSuffix(doc[:fence], []byte(sidecarFileMark))
}

// TestDocYAMLExamplesParse checks every YAML example in the README and
// docs/ with pylon's own config parser, so an example can never show a
// field or value that pylon would refuse. Snippets that show only part of
// a config (a routes list, a services list) are completed with a listener,
// the services their routes name and a route, then parsed whole. The
// examples of docs/control-plane.md are documents for `pylon ctl apply`,
// not gateway files; TestControlPlaneDocYAMLApplies applies them.
func TestDocYAMLExamplesParse(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	checked := 0
	for _, f := range files {
		if f == controlDoc {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range yamlBlock.FindAllSubmatchIndex(data, -1) {
			block := data[m[2]:m[3]]
			if isSidecarFile(data, m[2]) {
				continue
			}
			// Examples that use TLS files need those files; configuration.md
			// and the config package's own tests cover them.
			if bytes.Contains(block, []byte("cert:")) || bytes.Contains(block, []byte("ca:")) {
				continue
			}
			line := 1 + bytes.Count(data[:m[2]], []byte("\n"))
			name := fmt.Sprintf("%s:%d", filepath.Base(f), line)
			checked++
			t.Run(fmt.Sprintf("%s_block%d", filepath.Base(f), i), func(t *testing.T) {
				full, err := completeSnippet(block)
				if err != nil {
					t.Fatalf("%s: not YAML: %v", name, err)
				}
				if _, err := config.Parse(name, full); err != nil {
					t.Errorf("%s: the example does not parse:\n%v\ncompleted example:\n%s", name, err, full)
				}
			})
		}
	}
	if checked < 10 {
		t.Errorf("checked %d YAML examples; the docs have more, so the scan is broken", checked)
	}
}

// completeSnippet adds what a partial example leaves out: a listener, a
// route and the services routes name.
func completeSnippet(block []byte) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(block, &doc); err != nil {
		return nil, err
	}
	if doc == nil {
		doc = map[string]any{}
	}
	if _, ok := doc["listeners"]; !ok {
		doc["listeners"] = []any{map[string]any{"name": "web", "address": "127.0.0.1:8080"}}
	}
	services, _ := doc["services"].([]any)
	have := map[string]bool{}
	for _, s := range services {
		if m, ok := s.(map[string]any); ok {
			have[fmt.Sprint(m["name"])] = true
		}
	}
	routes, _ := doc["routes"].([]any)
	for _, r := range routes {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		names := []string{}
		if s, ok := m["service"].(string); ok {
			names = append(names, s)
		}
		if split, ok := m["split"].([]any); ok {
			for _, e := range split {
				if em, ok := e.(map[string]any); ok {
					names = append(names, fmt.Sprint(em["service"]))
				}
			}
		}
		for _, n := range names {
			if !have[n] {
				have[n] = true
				services = append(services, map[string]any{"name": n, "endpoints": []any{"127.0.0.1:9"}})
			}
		}
	}
	if len(services) == 0 {
		services = []any{map[string]any{"name": "example", "endpoints": []any{"127.0.0.1:9"}}}
	}
	doc["services"] = services
	if len(routes) == 0 {
		first := services[0].(map[string]any)
		doc["routes"] = []any{map[string]any{"name": "example", "service": first["name"]}}
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// TestReadmeMatchesTheProject checks that the README's two set-up commands
// are the ones the project runs (pylon up on the example app, whose run a
// test in this package checks too, and the CI test command) and that the
// gateway config the README shows is examples/gateway's.
func TestReadmeMatchesTheProject(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile("(?s)```sh\n(.*?)```").FindSubmatch(readme)
	if first == nil {
		t.Fatal("README.md does not open with a sh code block")
	}
	var cmds []string
	for _, l := range strings.Split(strings.TrimSpace(string(first[1])), "\n") {
		cmd, _, _ := strings.Cut(l, "#")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	want := []string{"go run ./cmd/pylon up -f examples/shop/app.yaml", "go test ./..."}
	if strings.Join(cmds, "\n") != strings.Join(want, "\n") {
		t.Errorf("README's set-up commands are %q, want %q", cmds, want)
	}
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "go test -count=1 ./...") {
		t.Errorf(".ci/run does not run the README's test command (go test ./...)")
	}
	m := yamlBlock.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md shows no YAML config")
	}
	shown, err := config.Parse("README.md", m[1])
	if err != nil {
		t.Fatalf("README's config does not parse: %v", err)
	}
	example, err := config.Load("../examples/gateway/pylon.yaml")
	if err != nil {
		t.Fatalf("examples/gateway/pylon.yaml: %v", err)
	}
	a, _ := yaml.Marshal(shown)
	b, _ := yaml.Marshal(example)
	if !bytes.Equal(a, b) {
		t.Errorf("README's quick-start config differs from examples/gateway/pylon.yaml:\nREADME:\n%s\nexample:\n%s", a, b)
	}
}
