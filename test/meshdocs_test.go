package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/control"
	"github.com/pylon-mesh/pylon/internal/echo"
	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/store/bolt"
)

const meshDoc = "../docs/mesh.md"

// TestMeshDocFlags checks that the flag table of docs/mesh.md lists
// exactly the flags `pylon sidecar` takes, with their defaults.
func TestMeshDocFlags(t *testing.T) {
	checkFlagTable(t, meshDoc, "## `pylon sidecar` flags", "sidecar")
}

// checkFlagTable checks that the table under heading in doc lists exactly
// the flags `pylon <command> -h` prints, and that each default -h prints
// is in the row's default cell. A row's first cell names its flags, like
// "`-f FILE`, `--file FILE`".
func checkFlagTable(t *testing.T, doc, heading, command string) {
	t.Helper()
	out, _ := exec.Command(pylonBin, command, "-h").CombinedOutput()
	var want []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllSubmatch(out, -1) {
		want = append(want, string(m[1]))
	}
	if len(want) < 3 {
		t.Fatalf("pylon %s -h printed %d flags; it has more, so the scan is broken:\n%s", command, len(want), out)
	}
	defaults := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+).*\n.*\(default "?([^")]*)"?\)$`).FindAllSubmatch(out, -1) {
		defaults[string(m[1])] = string(m[2])
	}
	var got []string
	table := section(t, readDoc(t, doc), heading)
	for _, row := range regexp.MustCompile("(?m)^\\| (`-[^|]*)\\|\\s*([^|]*?)\\s*\\|").FindAllSubmatch(table, -1) {
		cell := string(row[2])
		for _, m := range regexp.MustCompile("`--?([a-z][a-z-]*)").FindAllSubmatch(row[1], -1) {
			name := string(m[1])
			got = append(got, name)
			if d, ok := defaults[name]; ok && !strings.Contains(cell, d) {
				t.Errorf("-%s: %s gives the default %s, pylon %s -h %q", name, doc, cell, command, d)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("flags of pylon %s -h (-) and in %s's table (+) differ:\n%s", command, doc, d)
	}
}

// TestMeshDocQuotesTunnel checks that the wire protocol quoted in
// docs/mesh.md is, word for word, the "Wire protocol" section of package
// tunnel's documentation.
func TestMeshDocQuotesTunnel(t *testing.T) {
	m := regexp.MustCompile("(?s)```text\n(A tunnel is one HTTP/2 stream.*?)```").FindSubmatch(readDoc(t, meshDoc))
	if m == nil {
		t.Fatal("docs/mesh.md does not quote the tunnel's wire protocol in a ```text block starting with \"A tunnel is one HTTP/2 stream\"")
	}
	_, proto, ok := strings.Cut(string(readDoc(t, "../tunnel/doc.go")), "// # Wire protocol\n")
	proto, _, ok2 := strings.Cut(proto, "// # Use\n")
	if !ok || !ok2 {
		t.Fatal("tunnel/doc.go has no \"# Wire protocol\" section followed by \"# Use\"")
	}
	var text strings.Builder
	for _, l := range strings.Split(proto, "\n") {
		text.WriteString(strings.TrimPrefix(strings.TrimPrefix(l, "//"), " ") + "\n")
	}
	if got, want := strings.Fields(string(m[1])), strings.Fields(text.String()); !slices.Equal(got, want) {
		t.Errorf("docs/mesh.md's quote of the wire protocol differs from tunnel/doc.go (copy the section again):\n%s",
			cmp.Diff(strings.Join(want, " "), strings.Join(got, " ")))
	}
}

// applyHeredoc finds the documents docs/mesh.md pipes into `pylon ctl
// apply -f -`.
var applyHeredoc = regexp.MustCompile("(?s)pylon ctl apply -f - <<'EOF'\n(.*?\n)EOF\n")

// TestMeshDocYAMLApplies applies, in order, the YAML examples of
// docs/mesh.md (fenced yaml blocks, and the documents piped into `pylon
// ctl apply -f -`) to a real store with the code behind `pylon ctl apply`.
// Each must be accepted. (TestDocYAMLExamplesParse also parses the fenced
// blocks as gateway files.)
func TestMeshDocYAMLApplies(t *testing.T) {
	doc := readDoc(t, meshDoc)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pylon.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blocks := append(yamlBlock.FindAllSubmatchIndex(doc, -1), applyHeredoc.FindAllSubmatchIndex(doc, -1)...)
	sort.Slice(blocks, func(i, j int) bool { return blocks[i][2] < blocks[j][2] })
	if len(blocks) < 5 {
		t.Fatalf("found %d YAML examples in %s; it has more, so the scan is broken", len(blocks), meshDoc)
	}
	for _, m := range blocks {
		if isSidecarFile(doc, m[2]) {
			continue
		}
		block := doc[m[2]:m[3]]
		name := fmt.Sprintf("mesh.md:%d", 1+bytes.Count(doc[:m[2]], []byte("\n")))
		changes, _, err := resource.DecodeDocument(name, block)
		if err == nil {
			_, err = resource.Write(context.Background(), st, changes, false)
		}
		if err != nil {
			t.Errorf("%s: the example is refused: %v\n%s", name, err, block)
		}
	}
}

// TestMeshDocMetricsMatchExport checks that the pylon_mesh_* metrics
// docs/mesh.md lists, with their types and labels, are exactly those the
// sidecars export after HTTP requests, a denied request and a TCP
// connection through the mesh.
func TestMeshDocMetricsMatchExport(t *testing.T) {
	documented := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(pylon_mesh_[a-z_]+)` \\| ([a-z]+) \\|([^|]*)\\|").FindAllSubmatch(section(t, readDoc(t, meshDoc), "## Metrics"), -1) {
		var labels []string
		for _, l := range regexp.MustCompile("`([a-z_]+)`").FindAllSubmatch(m[3], -1) {
			labels = append(labels, string(l[1]))
		}
		documented[string(m[1])] = family(string(m[2]), labels)
	}
	if len(documented) < 5 {
		t.Fatalf("found %d pylon_mesh_* metrics in docs/mesh.md; it has more, so the scan is broken", len(documented))
	}
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("kv"), "kv", startEcho(t, "kv-1"), []string{"--protocol", "tcp"})
	catalog := startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil, "kv")
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	sidecars := []*meshSidecar{catalog, orders}
	waitFor(t, 10*time.Second, "orders to reach catalog", func() bool { return servedBy(orders.url("catalog")+"/x", "catalog-1") })
	// The kv app is an HTTP echo behind a TCP sidecar: one request per
	// connection, so each TCP connection through the mesh also ends.
	oneShot := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	waitFor(t, 10*time.Second, "catalog to reach kv over TCP", func() bool {
		resp, err := oneShot.Get(catalog.url("kv") + "/x")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	cp.applyYAML(`authorization_policies:
  - { name: catalog-all, service: catalog, action: allow }
  - { name: catalog-private, service: catalog, action: deny, from: [{ services: [orders] }], to: [{ paths: [{ prefix: /private }] }] }
`)
	waitFor(t, 5*time.Second, "the policy to deny orders /private", func() bool {
		code, _ := body(orders.url("catalog") + "/private")
		return code == http.StatusForbidden
	})
	var exported map[string]string
	deadline := time.Now().Add(5 * time.Second)
	for {
		exported = map[string]string{}
		for _, s := range sidecars {
			for name, f := range meshFamilies(s.get("/metrics")) {
				exported[name] = f
			}
		}
		if cmp.Equal(documented, exported) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := cmp.Diff(documented, exported); d != "" {
		t.Errorf("pylon_mesh_* metrics in docs/mesh.md (-) and exported (+) differ:\n%s", d)
	}
}

// family is a metric family as the test compares it: its type and its
// labels, sorted.
func family(typ string, labels []string) string {
	slices.Sort(labels)
	return typ + " " + strings.Join(slices.Compact(labels), ",")
}

// meshFamilies reads the pylon_mesh_* families of a Prometheus text
// exposition, each with its type and the labels of its samples (a
// histogram's le left out).
func meshFamilies(exposition string) map[string]string {
	types := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (pylon_mesh_[a-z_]+) ([a-z]+)$`).FindAllStringSubmatch(exposition, -1) {
		types[m[1]] = m[2]
	}
	labels := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^(pylon_mesh_[a-z_]+)(?:\{([^}]*)\})? `).FindAllStringSubmatch(exposition, -1) {
		name := m[1]
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && types[base] == "histogram" {
				name = base
			}
		}
		for _, l := range regexp.MustCompile(`([a-z_]+)="`).FindAllStringSubmatch(m[2], -1) {
			if l[1] != "le" {
				labels[name] = append(labels[name], l[1])
			}
		}
	}
	out := map[string]string{}
	for name, typ := range types {
		out[name] = family(typ, labels[name])
	}
	return out
}

// TestMeshDocQuickStartRuns runs docs/mesh.md's quick start as written,
// with two changes: every loopback address is replaced by a free one (the
// test may not own the well-known ports), and `go run ./examples/upstream
// -addr A -name N` is served in the test by the handler that command
// serves (internal/echo), to spare two builds. Both curls must be answered
// by catalog-1; after the policy is applied, the last curl must get 403.
func TestMeshDocQuickStartRuns(t *testing.T) {
	qs := section(t, readDoc(t, meshDoc), "## Quick start")
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllSubmatch(qs, -1)
	policy := yamlBlock.FindSubmatch(qs)
	if len(blocks) != 2 || policy == nil {
		t.Fatalf("the quick start has %d sh blocks and a YAML block %v; want two and one", len(blocks), policy != nil)
	}
	r := &meshQuickStart{quickStartRun: quickStartRun{t: t, dir: t.TempDir(), vars: map[string]string{},
		replace: freeAddrs(t, qs, control.DefaultControlAddr, control.DefaultAdminAddr)}}
	for _, line := range shellLines(blocks[0][1]) {
		if u, ok := r.line(line); ok {
			waitFor(t, 20*time.Second, "catalog-1 to answer "+line, func() bool { return r.get(u) == http.StatusOK })
		}
	}
	if err := os.WriteFile(filepath.Join(r.dir, "catalog-policy.yaml"), policy[1], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, line := range shellLines(blocks[1][1]) {
		if u, ok := r.line(line); ok {
			waitFor(t, 5*time.Second, "the policy to refuse "+line, func() bool { return r.get(u) == http.StatusForbidden })
		}
	}
}

// freeAddrs replaces every loopback address in doc, and the extra ones, by
// a free address.
func freeAddrs(t *testing.T, doc []byte, extra ...string) *strings.Replacer {
	addrs := append(regexp.MustCompile(`127\.0\.0\.1:[0-9]+`).FindAllString(string(doc), -1), extra...)
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	// Longer first: the replacer prefers earlier pairs at the same place.
	sort.SliceStable(addrs, func(i, j int) bool { return len(addrs[i]) > len(addrs[j]) })
	var pairs []string
	for _, a := range addrs {
		pairs = append(pairs, a, freeAddr(t))
	}
	return strings.NewReplacer(pairs...)
}

// shellLines splits a sh block into commands: continuation lines joined,
// comments and a trailing & removed.
func shellLines(block []byte) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(string(block), "\\\n", " "), "\n") {
		l, _, _ = strings.Cut(l, "  #")
		if l = strings.TrimSuffix(strings.TrimSpace(l), "&"); strings.TrimSpace(l) != "" {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return out
}

// meshQuickStart runs quick start lines: those of the control plane's
// quick start, example apps, sidecars in the background and curl.
type meshQuickStart struct {
	quickStartRun
	proxy string // the last curl's -x
}

// commandSubst finds "$(command)" arguments.
var commandSubst = regexp.MustCompile(`"\$\(([^)]*)\)"`)

// line runs one line; for curl it returns the URL to GET (with r.proxy
// set from -x) and true, without running it.
func (r *meshQuickStart) line(line string) (string, bool) {
	r.t.Helper()
	fields := strings.Fields(r.replace.Replace(line))
	switch {
	case fields[0] == "curl":
		r.proxy = ""
		for i, f := range fields {
			if f == "-x" {
				r.proxy = fields[i+1]
			}
		}
		return fields[len(fields)-1], true
	case strings.HasPrefix(line, "go run ./examples/upstream "):
		r.serveEcho(fields)
	case strings.HasPrefix(line, "pylon sidecar "):
		r.sidecar(line)
	default:
		r.quickStartRun.line(line)
	}
	return "", false
}

// serveEcho serves what examples/upstream serves, at its -addr.
func (r *meshQuickStart) serveEcho(fields []string) {
	flags := map[string]string{}
	for i := 3; i+1 < len(fields); i += 2 {
		flags[fields[i]] = fields[i+1]
	}
	ln, err := net.Listen("tcp", flags["-addr"])
	if err != nil {
		r.t.Fatalf("%v: %v", fields, err)
	}
	srv := &http.Server{Handler: echo.Handler(flags["-name"]), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	r.t.Cleanup(func() { srv.Close() })
}

// sidecar starts pylon sidecar in the background, once the "$(...)"
// arguments are run, and waits until its admin endpoint says it is ready.
func (r *meshQuickStart) sidecar(line string) {
	line = commandSubst.ReplaceAllStringFunc(line, func(s string) string {
		return strings.TrimSpace(r.quickStartRun.line(commandSubst.FindStringSubmatch(s)[1]))
	})
	args := strings.Fields(r.replace.Replace(line))[1:]
	i := slices.Index(args, "--admin")
	if i < 0 {
		r.t.Fatalf("%s: no --admin, so the test cannot tell when it is ready", line)
	}
	r.background(args, func() bool {
		code, _ := body("http://" + args[i+1] + "/ready")
		return code == http.StatusOK
	})
}

// get GETs u (through r.proxy, if set) and returns the status, 0 on a
// transport error; a 200 counts only if catalog-1 answered it.
func (r *meshQuickStart) get(u string) int {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if r.proxy != "" {
		p, err := url.Parse(r.proxy)
		if err != nil {
			r.t.Fatalf("curl -x %s: %v", r.proxy, err)
		}
		tr.Proxy = http.ProxyURL(p)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(u)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode == http.StatusOK && !bytes.Contains(b, []byte(`"instance": "catalog-1"`)) {
		return 0
	}
	return resp.StatusCode
}

// TestSidecarFileDocExample runs pylon sidecar on the sidecar file of
// docs/mesh.md: the file must pass every check, so the sidecar gets as far
// as the join token (a malformed one here, to stop it there).
func TestSidecarFileDocExample(t *testing.T) {
	doc := readDoc(t, meshDoc)
	var found int
	for _, m := range yamlBlock.FindAllSubmatchIndex(doc, -1) {
		if !isSidecarFile(doc, m[2]) {
			continue
		}
		found++
		path := filepath.Join(t.TempDir(), "sidecar.yaml")
		if err := os.WriteFile(path, doc[m[2]:m[3]], 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runPylon(t, "sidecar", "-c", path, "--join-token", "not-a-token", "--admin", "off")
		if code != 1 || !strings.Contains(stderr, "malformed join token") {
			t.Errorf("mesh.md:%d: pylon sidecar -c on the example: exit %d, stderr %q; want it accepted, up to the join token",
				1+bytes.Count(doc[:m[2]], []byte("\n")), code, stderr)
		}
	}
	if found == 0 {
		t.Fatalf("%s has no sidecar file example (a yaml block after %q)", meshDoc, sidecarFileMark)
	}
}
