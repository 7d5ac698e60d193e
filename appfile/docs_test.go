package appfile

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const docPath = "../docs/up.md"

// block returns the n-th (0-based) fenced block of doc whose opening line
// is fence, like "```yaml".
func block(t *testing.T, doc, fence string, n int) string {
	t.Helper()
	var body []string
	in, found := false, 0
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case !in && strings.HasPrefix(line, "```"):
			in = true
			if line == fence {
				found++
			}
		case in && line == "```":
			in = false
			if found == n+1 {
				return strings.Join(body, "\n") + "\n"
			}
		case in && found == n+1:
			body = append(body, line)
		}
	}
	t.Fatalf("%s: found %d %q blocks, want at least %d", docPath, found, fence, n+1)
	return ""
}

func readDoc(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// TestDocExample parses the app file example of docs/up.md, and checks the
// errors shown there are the ones its misspelt version gets. The example's
// fence is "```yaml app-file": still YAML to a renderer, but not one of the
// gateway configs that test/docs_test.go parses from every ```yaml block.
func TestDocExample(t *testing.T) {
	doc := readDoc(t)
	example := block(t, doc, "```yaml app-file", 0)
	if _, err := Parse("app.yaml", []byte(example)); err != nil {
		t.Fatalf("%s: the example does not parse:\n%v", docPath, err)
	}
	bad := example
	for _, r := range [][2]string{
		{"replicas: 2", "replicas: two"},
		{"upstreams: [catalog, inventory]", "upstreams: [catalog, invntory]"},
		{"service: orders", "service: order"},
	} {
		bad = replace(bad, r[0], r[1])
	}
	_, err := Parse("app.yaml", []byte(bad))
	if err == nil {
		t.Fatal("the misspelt example parses; want errors")
	}
	if diff := cmp.Diff(block(t, doc, "```", 0), err.Error()+"\n"); diff != "" {
		t.Errorf("%s: the errors shown (-doc +got):\n%s", docPath, diff)
	}
}

// TestDocFields checks that docs/up.md documents every field of the file.
func TestDocFields(t *testing.T) {
	doc := readDoc(t)
	for _, typ := range []reflect.Type{
		reflect.TypeFor[file](), reflect.TypeFor[serviceFile](), reflect.TypeFor[healthFile](),
		reflect.TypeFor[httpHealthFile](), reflect.TypeFor[grpcHealthFile](), reflect.TypeFor[gatewayFile](),
	} {
		for f := range typ.Fields() {
			name := f.Tag.Get("yaml")
			if !strings.Contains(doc, "| `"+name+"` |") && !strings.Contains(doc, "."+name+"` |") {
				t.Errorf("%s: field %s.%s (%q) is not in a table", docPath, typ.Name(), f.Name, name)
			}
		}
	}
}
