package resource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store"
	"github.com/pylon-mesh/pylon/store/bolt"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "pylon.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func example(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../examples/gateway/pylon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestApplyDocumentRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	changes, _, err := DecodeDocument("pylon.yaml", example(t))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Write(ctx, st, changes, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Action != Created || o.Version == 0 {
			t.Errorf("first apply: got %+v, want created with a version", o)
		}
	}
	// The stored config is the file's config: same listeners, routes and
	// services, in file order, with the same defaults.
	s, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	want, err := config.Parse("pylon.yaml", example(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want.Routes, got.Routes); d != "" {
		t.Errorf("routes (-file +stored):\n%s", d)
	}
	if d := cmp.Diff(want.Services, got.Services); d != "" {
		t.Errorf("services (-file +stored):\n%s", d)
	}
	if d := cmp.Diff(want.Listeners, got.Listeners); d != "" {
		t.Errorf("listeners (-file +stored):\n%s", d)
	}
	// Applying the same file again changes nothing.
	outs, err = Write(ctx, st, changes, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Action != Unchanged {
			t.Errorf("second apply: got %+v, want unchanged", o)
		}
	}
}

func TestDanglingReferencesRefused(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	changes, _, err := DecodeDocument("pylon.yaml", example(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ctx, st, changes, false); err != nil {
		t.Fatal(err)
	}
	s, _ := Load(ctx, st)
	route := s.List(Route)[0]
	// Deleting the service a route uses is refused, naming the route.
	_, err = Write(ctx, st, []Change{{Kind: Service, Name: firstService(t, s), Delete: true, IfVersion: store.Any}}, false)
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("got %v, want an InvalidError", err)
	}
	if p := inv.Problems[0]; p.Resource != "route/"+route.Name || !strings.HasPrefix(p.Path, "service") && !strings.HasPrefix(p.Path, "split") {
		t.Errorf("got problem %+v, want one about route/%s's service", p, route.Name)
	}
	// A new route naming a missing service is refused too.
	_, spec, err := DecodeItem(Route, "body", []byte(`{name: extra, match: {path: {prefix: /x}}, service: nope}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Write(ctx, st, []Change{{Kind: Route, Name: "extra", Spec: spec, IfVersion: store.Absent}}, false)
	if !errors.As(err, &inv) || inv.Problems[0].Resource != "route/extra" || inv.Problems[0].Path != "service" {
		t.Errorf("got %v, want route/extra: service", err)
	}
	after, _ := Load(ctx, st)
	if after.Revision != s.Revision {
		t.Errorf("a refused write changed the store: revision %d -> %d", s.Revision, after.Revision)
	}
}

func firstService(t *testing.T, s *State) string {
	t.Helper()
	cfg, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Routes[0].Service != "" {
		return cfg.Routes[0].Service
	}
	return cfg.Routes[0].Split[0].Service
}

func TestOptimisticConcurrency(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	_, spec, err := DecodeItem(Service, "body", []byte("name: a\nendpoints: [127.0.0.1:1]\n"))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Write(ctx, st, []Change{{Kind: Service, Name: "a", Spec: spec, IfVersion: store.Absent}}, false)
	if err != nil {
		t.Fatal(err)
	}
	v1 := outs[0].Version
	if _, err := Write(ctx, st, []Change{{Kind: Service, Name: "a", Spec: spec, IfVersion: store.Absent}}, false); !errors.Is(err, ErrExists) {
		t.Errorf("create twice: got %v, want ErrExists", err)
	}
	_, spec2, _ := DecodeItem(Service, "body", []byte("name: a\nendpoints: [127.0.0.1:2]\n"))
	outs, err = Write(ctx, st, []Change{{Kind: Service, Name: "a", Spec: spec2, IfVersion: v1}}, false)
	if err != nil || outs[0].Action != Updated || outs[0].Version <= v1 {
		t.Fatalf("update at the current version: got %+v, %v", outs, err)
	}
	if hasLine(outs[0].Diff, " ", "e+") {
		t.Errorf("diff writes numbers in float notation:\n%s", outs[0].Diff)
	}
	if !hasLine(outs[0].Diff, "-", "address: 127.0.0.1:1") || !hasLine(outs[0].Diff, "+", "address: 127.0.0.1:2") {
		t.Errorf("diff does not show the endpoint change:\n%s", outs[0].Diff)
	}
	if _, err := Write(ctx, st, []Change{{Kind: Service, Name: "a", Spec: spec, IfVersion: v1}}, false); !errors.Is(err, ErrStale) {
		t.Errorf("update at a stale version: got %v, want ErrStale", err)
	}
	if _, err := Write(ctx, st, []Change{{Kind: Service, Name: "b", Delete: true, IfVersion: store.Any}}, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of a missing resource: got %v, want ErrNotFound", err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	changes, _, err := DecodeDocument("pylon.yaml", example(t))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Write(ctx, st, changes, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != len(changes) || outs[0].Action != Created || outs[0].Diff == "" {
		t.Errorf("dry run: got %+v", outs)
	}
	s, _ := Load(ctx, st)
	for _, k := range Kinds {
		if n := len(s.List(k)); n != 0 {
			t.Errorf("dry run stored %d %s", n, k.Plural)
		}
	}
}

func TestDecodeDocumentNotes(t *testing.T) {
	_, notes, err := DecodeDocument("f.yaml", []byte("admin: {address: off}\nservices: [{name: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "admin ") {
		t.Errorf("got notes %q, want one about admin", notes)
	}
	_, _, err = DecodeDocument("f.yaml", []byte("services:\n  - name: a\n    balancr: x\n"))
	if err == nil || !strings.Contains(err.Error(), "f.yaml:3:5: services[0].balancr") {
		t.Errorf("got %v, want the file position and field path", err)
	}
}

// hasLine reports whether diff has a line with the mark holding text.
func hasLine(diff, mark, text string) bool {
	for _, l := range strings.Split(diff, "\n") {
		if strings.HasPrefix(l, mark) && strings.Contains(l, text) {
			return true
		}
	}
	return false
}

func TestDiffKeepsNumbers(t *testing.T) {
	_, spec, err := DecodeItem(Listener, "body", []byte("name: web\naddress: 127.0.0.1:8080\nlimits: {max_body_bytes: 64MiB}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(nil, spec); !hasLine(d, "+", "max_body_bytes: 67108864") {
		t.Errorf("diff does not show the size as an integer:\n%s", d)
	}
}

func TestTooManyChangesRefused(t *testing.T) {
	var doc strings.Builder
	doc.WriteString("services:\n")
	for i := range MaxChanges + 1 {
		fmt.Fprintf(&doc, "  - {name: s%d, endpoints: [127.0.0.1:1]}\n", i)
	}
	changes, _, err := DecodeDocument("big.yaml", []byte(doc.String()))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	if _, err := Write(context.Background(), st, changes, false); !errors.Is(err, ErrTooMany) {
		t.Fatalf("got %v, want ErrTooMany", err)
	}
	if _, err := Write(context.Background(), st, changes[:MaxChanges], false); err != nil {
		t.Fatalf("%d changes: %v", MaxChanges, err)
	}
}
