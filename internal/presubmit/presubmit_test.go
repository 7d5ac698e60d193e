package presubmit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Size budgets from STYLE.md ("Size budgets").
const (
	maxFuncLines = 150
	maxFileLines = 800
)

// pkg is the part of `go list -json` these tests read.
type pkg struct {
	Dir        string
	ImportPath string
	Name       string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// files returns the package's non-test Go files, as absolute paths.
func (p *pkg) files() []string {
	var out []string
	for _, f := range slices.Concat(p.GoFiles, p.CgoFiles) {
		out = append(out, filepath.Join(p.Dir, f))
	}
	return out
}

var (
	loadOnce sync.Once
	loaded   struct {
		root, module string
		pkgs         []*pkg
		err          error
	}
)

// module returns the module's root directory, path and packages, read once
// with `go list` so build constraints are honoured as the go tool does.
func module(t *testing.T) (root, path string, pkgs []*pkg) {
	t.Helper()
	loadOnce.Do(func() {
		loaded.root, loaded.module, loaded.pkgs, loaded.err = load()
	})
	if loaded.err != nil {
		t.Fatalf("load module: %v", loaded.err)
	}
	return loaded.root, loaded.module, loaded.pkgs
}

func load() (root, path string, pkgs []*pkg, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\n{{.Path}}").Output()
	if err != nil {
		return "", "", nil, fmt.Errorf("go list -m: %w", err)
	}
	root, path, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	cmd := exec.Command("go", "list", "-e", "-json", "./...")
	cmd.Dir = root
	out, err = cmd.Output()
	if err != nil {
		return "", "", nil, fmt.Errorf("go list ./...: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return "", "", nil, fmt.Errorf("decode go list output: %w", err)
		}
		if p.Module == nil || p.Module.Path != path {
			continue
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return "", "", nil, fmt.Errorf("go list ./... in %s: no packages", root)
	}
	return root, path, pkgs, nil
}

// rel returns the package's directory relative to the module root, with
// forward slashes ("" for the root package).
func rel(t *testing.T, root, dir string) string {
	t.Helper()
	r, err := filepath.Rel(root, dir)
	if err != nil {
		t.Fatalf("relative path of %s: %v", dir, err)
	}
	if r == "." {
		return ""
	}
	return filepath.ToSlash(r)
}

// parsed caches parsed files: several tests read the same ones.
var parsed sync.Map // path -> *parsedFile

type parsedFile struct {
	fset *token.FileSet
	file *ast.File
	err  error
}

func parse(t *testing.T, path string) (*token.FileSet, *ast.File) {
	t.Helper()
	v, ok := parsed.Load(path)
	if !ok {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		v, _ = parsed.LoadOrStore(path, &parsedFile{fset, f, err})
	}
	pf := v.(*parsedFile)
	if pf.err != nil {
		t.Fatalf("parse %s: %v", path, pf.err)
	}
	return pf.fset, pf.file
}

func TestPackagesLoad(t *testing.T) {
	_, _, pkgs := module(t)
	for _, p := range pkgs {
		if p.Error != nil {
			t.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
	}
}

func TestPackageDoc(t *testing.T) {
	root, _, pkgs := module(t)
	for _, p := range pkgs {
		if len(p.files()) == 0 {
			continue
		}
		// Commands follow the go tool's convention: "Command name ...".
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command " + filepath.Base(p.Dir) + " "
		}
		found := false
		for _, path := range p.files() {
			_, f := parse(t, path)
			if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no file has a package doc comment starting %q", rel(t, root, p.Dir)+"/", want)
		}
	}
}

func TestNoHyphensInFileNames(t *testing.T) {
	root, _, _ := module(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".go") && strings.Contains(d.Name(), "-") {
			t.Errorf("%s: Go file names have no hyphens (STYLE.md, Naming)", rel(t, root, path))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
}

// boundary is one import rule of STYLE.md, as it applies to the packages
// that exist.
type boundary struct {
	// pkgs are the directories the rule applies to; "x/..." is x and
	// everything under it.
	pkgs []string
	// allowed, if not nil, is the only non-standard imports allowed.
	allowed []string
	// forbidden are directories that must not be imported.
	forbidden []string
}

var boundaries = []boundary{
	{pkgs: []string{"flow", "router", "h1"}, allowed: []string{}},
	{pkgs: []string{"config"}, allowed: []string{"go.yaml.in/yaml/v3"}},
	{
		pkgs:      []string{"proxy", "router", "h1", "balancer/...", "health/...", "breaker", "retry", "flow"},
		forbidden: []string{"dataplane/...", "admin/...", "cmd/..."},
	},
}

// under reports whether dir matches pattern ("x" or "x/...").
func under(dir, pattern string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return dir == base || strings.HasPrefix(dir, base+"/")
	}
	return dir == pattern
}

func matchAny(dir string, patterns []string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return under(dir, p) })
}

// isStd reports whether an import path is in the standard library: its
// first element has no dot.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// importErrors checks the imports of one package (module-relative dir) and
// returns what breaks the rules.
func importErrors(dir, module string, imports []string) []string {
	var errs []string
	for _, imp := range imports {
		local, isLocal := strings.CutPrefix(imp, module+"/")
		for _, b := range boundaries {
			if !matchAny(dir, b.pkgs) {
				continue
			}
			if b.allowed != nil && !isStd(imp) && !slices.Contains(b.allowed, imp) {
				errs = append(errs, fmt.Sprintf("%s imports %s: only the standard library%s", dir, imp, allowedSuffix(b.allowed)))
			}
			if isLocal && matchAny(local, b.forbidden) {
				errs = append(errs, fmt.Sprintf("%s imports %s, which it must never import", dir, local))
			}
		}
		// Only the binaries and the sidecar role (which builds a data plane
		// from what the control plane sends) wire a dataplane together;
		// tests and internal helpers may too.
		if isLocal && under(local, "dataplane/...") && !under(dir, "dataplane/...") &&
			!matchAny(dir, []string{"cmd/...", "sidecar/...", "examples/...", "test/...", "internal/..."}) {
			errs = append(errs, fmt.Sprintf("%s imports %s: only cmd/, sidecar/, examples/, test/ and internal/ may", dir, local))
		}
	}
	return errs
}

func allowedSuffix(allowed []string) string {
	if len(allowed) == 0 {
		return ""
	}
	return " and " + strings.Join(allowed, ", ")
}

// TestImportBoundaries checks the non-test imports of every package; tests
// may reach further than the code they test.
func TestImportBoundaries(t *testing.T) {
	root, module, pkgs := module(t)
	checked := make(map[string]bool)
	for _, p := range pkgs {
		dir := rel(t, root, p.Dir)
		for _, b := range boundaries {
			if matchAny(dir, b.pkgs) {
				checked[dir] = true
			}
		}
		for _, e := range importErrors(dir, module, p.Imports) {
			t.Error(e)
		}
	}
	// A rule about a package that no longer exists is a rule nobody checks.
	for _, b := range boundaries {
		for _, pat := range b.pkgs {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(checked)), func(d string) bool { return under(d, pat) }) {
				t.Errorf("import rule names %s, but the module has no such package", pat)
			}
		}
	}
}

func TestImportErrors(t *testing.T) {
	// The rule checker itself: each rule must be able to fail.
	const mod = "example.com/m"
	tests := []struct {
		name    string
		dir     string
		imports []string
		want    int
	}{
		{"flow stdlib", "flow", []string{"errors", "net/http"}, 0},
		{"flow third party", "flow", []string{"github.com/google/go-cmp/cmp"}, 1},
		{"router local", "router", []string{mod + "/flow"}, 1},
		{"config yaml", "config", []string{"go.yaml.in/yaml/v3", "encoding/json"}, 0},
		{"config other", "config", []string{"golang.org/x/net/http2"}, 1},
		{"proxy admin", "proxy", []string{mod + "/admin"}, 1},
		{"flow dataplane", "flow", []string{mod + "/dataplane"}, 3},
		{"balancer sub cmd", "balancer/roundrobin", []string{mod + "/cmd/pylon"}, 1},
		{"proxy flow", "proxy", []string{mod + "/flow", mod + "/balancer"}, 0},
		{"metrics dataplane", "metrics", []string{mod + "/dataplane"}, 1},
		{"cmd dataplane", "cmd/pylon", []string{mod + "/dataplane"}, 0},
		{"test dataplane", "test", []string{mod + "/dataplane"}, 0},
		{"internal dataplane", "internal/pylontest", []string{mod + "/dataplane"}, 0},
		{"examples dataplane", "examples/gateway", []string{mod + "/dataplane"}, 0},
		{"dataplane-like name", "metrics", []string{mod + "/dataplanex"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := importErrors(tc.dir, mod, tc.imports)
			if len(got) != tc.want {
				t.Errorf("importErrors(%s, %v) = %q: got %d errors, want %d", tc.dir, tc.imports, got, len(got), tc.want)
			}
		})
	}
}

// undocumented returns the exported top-level names of f (and exported
// methods of exported types) that have no doc comment, or whose doc comment
// does not start with the name, as "file:line: name: problem". Names in a
// const, var or type group may share the group's comment.
func undocumented(fset *token.FileSet, f *ast.File) []string {
	var out []string
	check := func(pos token.Pos, name, ident string, doc *ast.CommentGroup) {
		switch {
		case doc == nil:
			out = append(out, fmt.Sprintf("%s: %s: no doc comment", fset.Position(pos), name))
		case !startsWithName(doc.Text(), ident):
			out = append(out, fmt.Sprintf("%s: %s: doc comment does not start with %q", fset.Position(pos), name, ident))
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			name := d.Name.Name
			if d.Recv != nil {
				recv := receiverName(d.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue
				}
				name = recv + "." + name
			}
			check(d.Pos(), name, d.Name.Name, d.Doc)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					if s.Doc == nil && d.Doc != nil && d.Lparen.IsValid() {
						continue // documented by its group
					}
					check(s.Pos(), s.Name.Name, s.Name.Name, cmp.Or(s.Doc, d.Doc))
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() && s.Doc == nil && d.Doc == nil {
							check(n.Pos(), n.Name, n.Name, nil)
						}
					}
				}
			}
		}
	}
	return out
}

// startsWithName reports whether a doc comment starts with the name it
// documents ("A Name", "An Name" and "Deprecated:" notes are fine too).
func startsWithName(doc, name string) bool {
	for _, p := range []string{"", "A ", "An ", "The "} {
		if rest, ok := strings.CutPrefix(doc, p+name); ok && (rest == "" || !isIdentChar(rest[0])) {
			return true
		}
	}
	return strings.HasPrefix(doc, "Deprecated:")
}

func isIdentChar(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// receiverName returns the type name of a method receiver.
func receiverName(x ast.Expr) string {
	for {
		switch e := x.(type) {
		case *ast.StarExpr:
			x = e.X
		case *ast.IndexExpr:
			x = e.X
		case *ast.IndexListExpr:
			x = e.X
		case *ast.ParenExpr:
			x = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}

func TestExportedNamesDocumented(t *testing.T) {
	root, _, pkgs := module(t)
	for _, p := range pkgs {
		if p.Name == "main" {
			continue
		}
		for _, path := range p.files() {
			fset, f := parse(t, path)
			if ast.IsGenerated(f) { // protoc's output: its names are the proto's
				continue
			}
			for _, u := range undocumented(fset, f) {
				r, _ := filepath.Rel(root, u)
				t.Error(r)
			}
		}
	}
}

func TestUndocumented(t *testing.T) {
	// The checker itself, on a file with one of each case.
	const src = `package p

// Documented is.
func Documented() {}
func Bare() {}
func unexported() {}

// T is.
type T struct{}
// Method does.
func (T) Method() {}
// does it.
func (T) Misdoc() {}
// Documented wrongly: the name is a prefix of the first word.
func Doc() {}
func (*T) Ptr() {}
type u struct{}
func (u) Hidden() {}

// G documents the group.
const (
	A = 1
	B = 2
)
const C = 3
var (
	// D is.
	D = 4
	E = 5
)
type (
	// F is.
	F int
	H int
)

// Grouped types share this.
type (
	I int
	J int
)

// A K is fine.
type K int
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var got []string
	for _, u := range undocumented(fset, f) {
		_, name, _ := strings.Cut(u, ": ")
		got = append(got, name)
	}
	want := []string{
		"Bare: no doc comment",
		`T.Misdoc: doc comment does not start with "Misdoc"`,
		`Doc: doc comment does not start with "Doc"`,
		"T.Ptr: no doc comment",
		"C: no doc comment",
		"E: no doc comment",
		"H: no doc comment",
	}
	if !slices.Equal(want, got) {
		t.Errorf("undocumented:\ngot  %q\nwant %q", got, want)
	}
}

// measure is a named length in lines.
type measure struct {
	name  string
	lines int
}

func TestSizeBudget(t *testing.T) {
	root, _, pkgs := module(t)
	var files, funcs []measure
	for _, p := range pkgs {
		for _, path := range p.files() {
			fset, f := parse(t, path)
			name, _ := filepath.Rel(root, path)
			if ast.IsGenerated(f) {
				continue
			}
			files = append(files, measure{name, fset.Position(f.End()).Line})
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				start, end := fset.Position(fd.Pos()), fset.Position(fd.End())
				funcs = append(funcs, measure{fmt.Sprintf("%s:%d %s", name, start.Line, funcName(fd)), end.Line - start.Line + 1})
			}
		}
	}
	for _, m := range report(t, "files", files) {
		if m.lines > maxFileLines {
			t.Errorf("%s has %d lines; the budget is %d (STYLE.md, Size budgets)", m.name, m.lines, maxFileLines)
		}
	}
	for _, m := range report(t, "functions", funcs) {
		if m.lines > maxFuncLines {
			t.Errorf("%s has %d lines; the budget is %d (STYLE.md, Size budgets)", m.name, m.lines, maxFuncLines)
		}
	}
}

// report sorts ms longest first, logs the five longest and the median and
// returns the sorted list.
func report(t *testing.T, what string, ms []measure) []measure {
	t.Helper()
	slices.SortFunc(ms, func(a, b measure) int {
		return cmp.Or(cmp.Compare(b.lines, a.lines), cmp.Compare(a.name, b.name))
	})
	if len(ms) == 0 {
		t.Fatalf("no %s measured", what)
	}
	t.Logf("%d %s, median %d lines; the longest:", len(ms), what, ms[len(ms)/2].lines)
	for _, m := range ms[:min(5, len(ms))] {
		t.Logf("  %5d  %s", m.lines, m.name)
	}
	return ms
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil {
		return fd.Name.Name
	}
	return receiverName(fd.Recv.List[0].Type) + "." + fd.Name.Name
}
