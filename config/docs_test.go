package config

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const docPath = "../docs/configuration.md"

// validBlocks returns the ```yaml blocks of a Markdown file that follow a
// "<!-- valid -->" line, with the 1-based line each block starts on.
func validBlocks(doc string) (blocks []string, lines []int) {
	all := strings.Split(doc, "\n")
	for i := 0; i+1 < len(all); i++ {
		if strings.TrimSpace(all[i]) != "<!-- valid -->" || strings.TrimSpace(all[i+1]) != "```yaml" {
			continue
		}
		start := i + 2
		end := start
		for end < len(all) && strings.TrimSpace(all[end]) != "```" {
			end++
		}
		blocks = append(blocks, strings.Join(all[start:end], "\n")+"\n")
		lines = append(lines, start+1)
		i = end
	}
	return blocks, lines
}

func TestDocExamplesParse(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	blocks, lines := validBlocks(string(doc))
	if len(blocks) < 2 {
		t.Fatalf("found %d valid yaml blocks in %s, want at least 2 (minimal and full example)", len(blocks), docPath)
	}
	for i, b := range blocks {
		if _, err := Parse(docPath, []byte(b)); err != nil {
			t.Errorf("%s: yaml block at line %d: got error\n%v\nwant nil", docPath, lines[i], err)
		}
	}
}

// TestPolicyDocExamplesParse checks the complete configs of docs/policies.md.
func TestPolicyDocExamplesParse(t *testing.T) {
	const path = "../docs/policies.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks, lines := validBlocks(string(doc))
	if len(blocks) < 3 {
		t.Fatalf("found %d valid yaml blocks in %s, want at least 3", len(blocks), path)
	}
	for i, b := range blocks {
		if _, err := Parse(path, []byte(b)); err != nil {
			t.Errorf("%s: yaml block at line %d: got error\n%v\nwant nil", path, lines[i], err)
		}
	}
}

func TestExampleGatewayParses(t *testing.T) {
	c, err := Load("../examples/gateway/pylon.yaml")
	if err != nil {
		t.Fatalf("Load: got error\n%v\nwant nil", err)
	}
	got := []string{c.Listeners[0].Address, c.Routes[0].Match.Path.Prefix, c.Services[0].Endpoints[1].Address, c.Admin.Address}
	want := []string{"127.0.0.1:8080", "/orders", "127.0.0.1:9002", "127.0.0.1:9901"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("example (-want +got):\n%s", diff)
	}
}

// TestDocsNameEveryField checks that every YAML field name of the model
// appears in docs/configuration.md as `name`.
func TestDocsNameEveryField(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		_, names := fieldsOf(ty)
		for _, n := range names {
			if !strings.Contains(string(doc), "`"+n+"`") && !strings.Contains(string(doc), "`"+n+":") {
				t.Errorf("%s: field %s.%s is not documented (no `%s`)", docPath, ty.Name(), n, n)
			}
		}
		for i := range ty.NumField() {
			walk(ty.Field(i).Type)
		}
	}
	walk(reflect.TypeFor[Config]())
}
