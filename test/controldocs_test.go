package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/control"
	"github.com/pylon-mesh/pylon/ctl"
	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/store/bolt"
)

const controlDoc = "../docs/control-plane.md"

// refusedMark starts a YAML example that the control plane must refuse.
const refusedMark = "# refused"

// TestControlPlaneDocYAMLApplies applies the YAML examples of
// docs/control-plane.md in order, after the quick start's
// examples/gateway/pylon.yaml, to a real store with the code behind
// `pylon ctl apply -f`, as a reader following the page would. Each must be
// accepted, except those whose first line starts with "# refused", which
// must be refused as an invalid config.
func TestControlPlaneDocYAMLApplies(t *testing.T) {
	doc := readDoc(t, controlDoc)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pylon.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	apply := func(name string, data []byte) error {
		changes, _, err := resource.DecodeDocument(name, data)
		if err != nil {
			return err
		}
		_, err = resource.Write(ctx, st, changes, false)
		return err
	}
	quickStart, err := os.ReadFile("../examples/gateway/pylon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := apply("examples/gateway/pylon.yaml", quickStart); err != nil {
		t.Fatalf("the quick start's apply is refused: %v", err)
	}
	blocks := yamlBlock.FindAllSubmatchIndex(doc, -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d YAML examples in %s; it has more, so the scan is broken", len(blocks), controlDoc)
	}
	for _, m := range blocks {
		block := doc[m[2]:m[3]]
		name := fmt.Sprintf("control-plane.md:%d", 1+bytes.Count(doc[:m[2]], []byte("\n")))
		err := apply(name, block)
		var invalid *resource.InvalidError
		var cfgErrs config.Errors
		switch {
		case bytes.HasPrefix(block, []byte(refusedMark)) && err == nil:
			t.Errorf("%s: got the example applied, want it refused:\n%s", name, block)
		case bytes.HasPrefix(block, []byte(refusedMark)) && !errors.As(err, &invalid) && !errors.As(err, &cfgErrs):
			t.Errorf("%s: got %v, want an invalid config error", name, err)
		case !bytes.HasPrefix(block, []byte(refusedMark)) && err != nil:
			t.Errorf("%s: the example is refused: %v\n%s", name, err, block)
		}
	}
}

// TestControlPlaneDocRoutesMatchOpenAPI checks that the admin API's route
// table in docs/control-plane.md lists exactly the operations
// adminapi/openapi.json describes.
func TestControlPlaneDocRoutesMatchOpenAPI(t *testing.T) {
	table := section(t, readDoc(t, controlDoc), "## The admin API")
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z]+)` \\| `(/[^`]*)` \\|").FindAllSubmatch(table, -1) {
		documented = append(documented, string(m[1])+" "+string(m[2]))
	}
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(readDoc(t, "../adminapi/openapi.json"), &spec); err != nil {
		t.Fatalf("parse adminapi/openapi.json: %v", err)
	}
	var described []string
	for path, item := range spec.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				described = append(described, strings.ToUpper(method)+" "+path)
			}
		}
	}
	if len(described) == 0 {
		t.Fatal("adminapi/openapi.json describes no operations; the scan is broken")
	}
	slices.Sort(documented)
	slices.Sort(described)
	if d := cmp.Diff(described, documented); d != "" {
		t.Errorf("admin API routes in adminapi/openapi.json (-) and in docs/control-plane.md (+) differ:\n%s", d)
	}
}

// TestControlPlaneDocErrorCodes checks that the admin API's error table in
// docs/control-plane.md lists every code in adminapi/errors.go, with the
// status its comment there names, and no other.
func TestControlPlaneDocErrorCodes(t *testing.T) {
	table := section(t, readDoc(t, controlDoc), "### Errors")
	documented := map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([0-9]{3}) \\|").FindAllSubmatch(table, -1) {
		documented[string(m[1])], _ = strconv.Atoi(string(m[2]))
	}
	defined := errorCodes(t, "../adminapi/errors.go")
	if len(defined) == 0 {
		t.Fatal("adminapi/errors.go defines no Code constants; the scan is broken")
	}
	if d := cmp.Diff(defined, documented); d != "" {
		t.Errorf("error codes and statuses in adminapi/errors.go (-) and docs/control-plane.md (+) differ:\n%s", d)
	}
}

// errorCodes reads the Code* constants of an adminapi source file: each
// value and the HTTP status its line comment starts with.
func errorCodes(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	codes := map[string]int{}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			if len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Code") || len(vs.Values) != 1 {
				continue
			}
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Fatalf("%s: %s is not a string literal", path, vs.Names[0].Name)
			}
			code, _ := strconv.Unquote(lit.Value)
			status, err := strconv.Atoi(regexp.MustCompile(`^[0-9]{3}`).FindString(strings.TrimSpace(vs.Comment.Text())))
			if err != nil {
				t.Fatalf("%s: %s has no comment starting with its HTTP status", path, vs.Names[0].Name)
			}
			codes[code] = status
		}
	}
	return codes
}

// TestControlPlaneDocQuotesPush checks that the push protocol quoted in
// docs/control-plane.md is, word for word, the "Protocol" section of
// package push's documentation.
func TestControlPlaneDocQuotesPush(t *testing.T) {
	m := regexp.MustCompile("(?s)```text\n(Service pylon\\.control\\.v1\\.Config.*?)```").FindSubmatch(readDoc(t, controlDoc))
	if m == nil {
		t.Fatal("docs/control-plane.md does not quote push's protocol in a ```text block starting with \"Service pylon.control.v1.Config\"")
	}
	src := string(readDoc(t, "../push/doc.go"))
	_, protocol, ok := strings.Cut(src, "// # Protocol\n")
	if !ok {
		t.Fatal("push/doc.go has no \"# Protocol\" section")
	}
	protocol, _, _ = strings.Cut(protocol, "\npackage ")
	var text strings.Builder
	for _, l := range strings.Split(protocol, "\n") {
		text.WriteString(strings.TrimPrefix(strings.TrimPrefix(l, "//"), " ") + "\n")
	}
	if got, want := strings.Fields(string(m[1])), strings.Fields(text.String()); !slices.Equal(got, want) {
		t.Errorf("docs/control-plane.md's quote of push's protocol differs from push/doc.go (copy the section again):\n%s",
			cmp.Diff(strings.Join(want, " "), strings.Join(got, " ")))
	}
}

// section returns the part of a markdown document from the line heading
// (like "## The admin API") to the next heading of the same or a higher
// level, skipping fenced code blocks, whose lines may start with "#".
func section(t *testing.T, doc []byte, heading string) []byte {
	t.Helper()
	level := strings.Index(heading, " ")
	var out bytes.Buffer
	inside, fenced := false, false
	for _, l := range strings.SplitAfter(string(doc), "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(l, "#") {
			hashes := len(l) - len(strings.TrimLeft(l, "#"))
			switch {
			case strings.TrimSpace(l) == heading:
				inside = true
				continue
			case inside && hashes <= level:
				return out.Bytes()
			}
		}
		if inside {
			out.WriteString(l)
		}
	}
	if !inside {
		t.Fatalf("the document has no %q section", heading)
	}
	return out.Bytes()
}

func readDoc(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestControlPlaneDocFlags checks that the flag tables of
// docs/control-plane.md list exactly the flags the binary takes: every
// flag of `pylon control`, the flags of `pylon gateway` that only apply
// with --control, and the global flags of `pylon ctl`.
func TestControlPlaneDocFlags(t *testing.T) {
	doc := readDoc(t, controlDoc)
	for _, tc := range []struct {
		heading string
		args    []string
		// flags picks the flags from the command's -h output.
		flags *regexp.Regexp
	}{
		{"## `pylon control`", []string{"control", "-h"}, regexp.MustCompile(`(?m)^  -([a-z-]+)`)},
		// --control itself, and the flags whose usage says they need it.
		{"## Managed gateways", []string{"gateway", "-h"}, regexp.MustCompile(`(?m)^  -(control) |^  -([a-z-]+).*\n\s+with --control`)},
		{"## `pylon ctl`", []string{"ctl", "-h"}, regexp.MustCompile(`(?m)^  (?:-[a-z], )?--([a-z-]+) `)},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			out, _ := exec.Command(pylonBin, tc.args...).CombinedOutput()
			var want []string
			for _, m := range tc.flags.FindAllSubmatch(out, -1) {
				want = append(want, string(bytes.Join(m[1:], nil)))
			}
			if len(want) == 0 {
				t.Fatalf("pylon %s printed no flags:\n%s", strings.Join(tc.args, " "), out)
			}
			var got []string
			for _, cell := range regexp.MustCompile("(?m)^\\| (`-[^|]*)\\|").FindAllSubmatch(section(t, doc, tc.heading), -1) {
				for _, f := range regexp.MustCompile("`--?([a-z][a-z-]*)").FindAllSubmatch(cell[1], -1) {
					if len(f[1]) > 1 { // -o is --output's short form
						got = append(got, string(f[1]))
					}
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("flags of pylon %s (-) and in the table under %q (+) differ:\n%s", strings.Join(tc.args, " "), tc.heading, d)
			}
		})
	}
}

// quickStart is the control plane's quick start, as the issue that asked
// for the control plane wrote it: the README and docs/control-plane.md show
// exactly these commands.
var quickStart = []string{
	"pylon control --data ./pylon-data",
	"export PYLON_SERVER=http://127.0.0.1:15000 PYLON_TOKEN=$(cat ./pylon-data/admin.token)",
	"pylon ctl apply -f examples/gateway/pylon.yaml",
	"T=$(pylon ctl token create --service edge)",
	`pylon gateway --control 127.0.0.1:15010 --join-token "$T"`,
	"pylon ctl get services -o json",
}

// quickStartBlock returns the commands (comments removed) of the first
// fenced block after heading in a markdown file.
func quickStartBlock(t *testing.T, path, heading string) []string {
	t.Helper()
	doc := string(readDoc(t, path))
	_, after, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", path, heading)
	}
	m := regexp.MustCompile("(?s)```[a-z]*\n(.*?)```").FindStringSubmatch(after)
	if m == nil {
		t.Fatalf("%s shows no code block under %q", path, heading)
	}
	var cmds []string
	for _, l := range strings.Split(strings.TrimSpace(m[1]), "\n") {
		cmd, _, _ := strings.Cut(l, "  #")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	return cmds
}

// TestControlPlaneDocQuickStartRuns checks that the README and
// docs/control-plane.md show the quick start's commands, that its comment
// names the addresses pylon control really defaults to, and runs the
// commands as written, with one change: the default addresses are replaced
// by free ones (and the gateway's listener and admin moved to free ports),
// since the test may not own the well-known ones.
func TestControlPlaneDocQuickStartRuns(t *testing.T) {
	for _, f := range []struct{ path, heading string }{{controlDoc, "## Quick start"}, {"../README.md", "## Control plane"}} {
		if d := cmp.Diff(quickStart, quickStartBlock(t, f.path, f.heading)); d != "" {
			t.Errorf("%s shows another quick start (-want +got):\n%s", f.path, d)
		}
	}
	want := fmt.Sprintf("data planes connect to %s, admin API on %s", control.DefaultControlAddr, control.DefaultAdminAddr)
	if !strings.Contains(string(readDoc(t, controlDoc)), want) || ctl.DefaultServer != "http://"+control.DefaultAdminAddr {
		t.Errorf("the quick start's comment does not say %q, or pylon ctl's default server %s is not the admin API's", want, ctl.DefaultServer)
	}
	dir := t.TempDir()
	example := filepath.Join(dir, "examples", "gateway", "pylon.yaml")
	if err := os.MkdirAll(filepath.Dir(example), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(example, readDoc(t, "../examples/gateway/pylon.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &quickStartRun{t: t, dir: dir, vars: map[string]string{}, replace: strings.NewReplacer(
		control.DefaultControlAddr, freeAddr(t), control.DefaultAdminAddr, freeAddr(t))}
	var out string
	for _, line := range quickStart {
		out = r.line(line)
	}
	var services struct {
		Items []struct{ Name string } `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &services); err != nil || len(services.Items) != 1 || services.Items[0].Name != "orders" {
		t.Errorf("got %q from the last command (%v), want the service orders as JSON", out, err)
	}
}

// quickStartRun runs quick start lines: export, NAME=$(command) and pylon
// commands; pylon control and pylon gateway run in the background.
type quickStartRun struct {
	t       *testing.T
	dir     string
	env     []string
	vars    map[string]string
	replace *strings.Replacer // default addresses to free ones
}

// line runs one line and returns what it printed on stdout.
func (r *quickStartRun) line(line string) string {
	r.t.Helper()
	if rest, ok := strings.CutPrefix(line, "export "); ok {
		for _, kv := range regexp.MustCompile(`(\w+)=(\$\([^)]*\)|\S+)`).FindAllStringSubmatch(rest, -1) {
			k, v := kv[1], kv[2]
			if file, ok := strings.CutPrefix(v, "$(cat "); ok {
				v = strings.TrimSpace(string(readDoc(r.t, filepath.Join(r.dir, strings.TrimSuffix(file, ")")))))
			}
			r.env = append(r.env, k+"="+r.replace.Replace(v))
		}
		return ""
	}
	if name, cmd, ok := strings.Cut(line, "=$("); ok {
		r.vars[name] = strings.TrimSpace(r.line(strings.TrimSuffix(cmd, ")")))
		return ""
	}
	args := strings.Fields(r.replace.Replace(line))[1:]
	for i, a := range args {
		if v, ok := r.vars[strings.TrimSuffix(strings.TrimPrefix(a, `"$`), `"`)]; ok && strings.HasPrefix(a, `"$`) {
			args[i] = v
		}
	}
	switch args[0] {
	case "control":
		r.background(append(args, "--listen", r.replace.Replace(control.DefaultControlAddr), "--admin", r.replace.Replace(control.DefaultAdminAddr)), func() bool {
			_, err := os.Stat(filepath.Join(r.dir, "pylon-data", "admin.token"))
			return err == nil
		})
		return ""
	case "gateway":
		admin := freeAddr(r.t)
		r.background(append(args, "--listen", "web="+freeAddr(r.t), "--admin", admin, "--access-log", "off"), func() bool {
			code, _ := body("http://" + admin + "/ready")
			return code == http.StatusOK
		})
		return ""
	}
	for try := 0; ; try++ { // the admin API may take a moment to listen after admin.token appears
		stdout, stderr, code := r.run(args)
		switch {
		case code == 0:
			return stdout
		case code != ctl.ExitUnreachable || try == 100:
			r.t.Fatalf("%s: exit %d\nstderr:\n%s", line, code, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs pylon with args in the quick start's directory and environment.
func (r *quickStartRun) run(args []string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	cmd := exec.Command(pylonBin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = r.dir, append(os.Environ(), r.env...), &out, &errOut
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		r.t.Fatalf("pylon %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// background starts pylon with args, waits until ready says it serves,
// and stops it with SIGTERM when the test ends.
func (r *quickStartRun) background(args []string, ready func() bool) {
	r.t.Helper()
	var stderr syncBuffer
	cmd := exec.Command(pylonBin, args...)
	cmd.Dir, cmd.Env, cmd.Stderr = r.dir, append(os.Environ(), r.env...), &stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("pylon %s: %v", strings.Join(args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	r.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				r.t.Errorf("pylon %s exited with %v after SIGTERM, want status 0", args[0], err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			r.t.Errorf("pylon %s did not exit within 15s of SIGTERM", args[0])
		}
		if r.t.Failed() {
			r.t.Logf("pylon %s stderr:\n%s", args[0], tail(stderr.String(), 4000))
		}
	})
	waitFor(r.t, 20*time.Second, "pylon "+args[0]+" to serve", ready)
}

// TestControlPlaneDocCtlCommands checks that docs/control-plane.md lists
// every command of `pylon ctl` and no other, and every kind with the
// other names the command line takes for it.
func TestControlPlaneDocCtlCommands(t *testing.T) {
	usage, _ := exec.Command(pylonBin, "ctl", "-h").CombinedOutput()
	commandsPart, kindsPart, ok := strings.Cut(string(usage), "\nKinds: ")
	_, commandsPart, ok2 := strings.Cut(commandsPart, "Commands:\n")
	if !ok || !ok2 {
		t.Fatalf("pylon ctl -h has no Commands or Kinds:\n%s", usage)
	}
	var wantCmds []string
	for _, l := range strings.Split(strings.Trim(commandsPart, "\n"), "\n") {
		if len(l) > 15 { // "  %-13s %s"
			wantCmds = append(wantCmds, strings.TrimSpace(l[2:15]))
		}
	}
	kindsPart, _, _ = strings.Cut(kindsPart, ".\n")
	wantKinds := map[string]string{}
	for _, m := range regexp.MustCompile(`([a-z_]+) \(([a-z_, ]+)\)`).FindAllStringSubmatch(kindsPart, -1) {
		wantKinds[m[1]] = m[2]
	}

	if len(wantCmds) < 5 || len(wantKinds) < 5 {
		t.Fatalf("read %d commands and %d kinds from pylon ctl -h; it has more, so the scan is broken:\n%s", len(wantCmds), len(wantKinds), usage)
	}
	ctlDoc := section(t, readDoc(t, controlDoc), "## `pylon ctl`")
	var gotCmds []string
	for _, m := range regexp.MustCompile("(?m)^\\| `pylon ctl ([a-z]+(?: [a-z]+)?)[ `]").FindAllSubmatch(ctlDoc, -1) {
		if !slices.Contains(gotCmds, string(m[1])) {
			gotCmds = append(gotCmds, string(m[1]))
		}
	}
	gotKinds := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([^|]*) \\|").FindAllSubmatch(ctlDoc, -1) {
		gotKinds[string(m[1])] = strings.ReplaceAll(strings.TrimSpace(string(m[2])), "`", "")
	}
	slices.Sort(wantCmds)
	slices.Sort(gotCmds)
	if d := cmp.Diff(wantCmds, gotCmds); d != "" {
		t.Errorf("commands of pylon ctl -h (-) and in docs/control-plane.md (+) differ:\n%s", d)
	}
	if d := cmp.Diff(wantKinds, gotKinds); d != "" {
		t.Errorf("kinds of pylon ctl -h (-) and in docs/control-plane.md (+) differ:\n%s", d)
	}
}

// TestControlPlaneDocLogMessages checks that every log message the control
// plane's log table in docs/operations.md names is one the code writes, so
// a renamed message cannot leave the table describing lines nobody sees.
func TestControlPlaneDocLogMessages(t *testing.T) {
	cp := section(t, readDoc(t, "../docs/operations.md"), "## The control plane")
	logs := section(t, cp, "### Logs")
	var documented []string
	for _, row := range regexp.MustCompile("(?m)^\\| (`[^|]*) \\| (?:debug|info|warn|error) \\|").FindAllSubmatch(logs, -1) {
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllSubmatch(row[1], -1) {
			documented = append(documented, string(m[1]))
		}
	}
	if len(documented) < 5 {
		t.Fatalf("found %d log messages in the control plane's log table of docs/operations.md; it has more, so the scan is broken", len(documented))
	}
	var code strings.Builder
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "test" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "..":
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go"):
			code.Write(readDoc(t, path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range documented {
		if !strings.Contains(code.String(), strconv.Quote(msg)) {
			t.Errorf("docs/operations.md documents the log message %q, which no Go file writes", msg)
		}
	}
}
