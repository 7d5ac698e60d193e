package config

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type strictDoc struct {
	Name    string            `yaml:"name"`
	Count   int               `yaml:"count"`
	Wait    Duration          `yaml:"wait"`
	Tags    []string          `yaml:"tags"`
	Env     map[string]string `yaml:"env"`
	Gateway *strictGateway    `yaml:"gateway"`
}

type strictGateway struct {
	Routes []Route `yaml:"routes"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want strictDoc
		errs string
	}{
		{
			name: "valid",
			in:   "name: a\ncount: 0\nwait: 2s\ntags: [x, y]\nenv: {K: 1}\n",
			want: strictDoc{Name: "a", Wait: Duration(2 * time.Second), Tags: []string{"x", "y"}, Env: map[string]string{"K": "1"}},
		},
		{
			name: "nested config types",
			in:   "gateway:\n  routes:\n    - name: r\n      service: s\n",
			want: strictDoc{Gateway: &strictGateway{Routes: []Route{{Name: "r", Service: "s"}}}},
		},
		{
			name: "every error at once",
			in:   "name: a\ncount: two\nwait: 5\nbogus: 1\nname: b\n",
			want: strictDoc{Name: "a"},
			errs: "f.yaml:2:8: count: must be an integer, not \"two\"\n" +
				"f.yaml:3:7: wait: 5 needs a unit, like 5s or 5ms\n" +
				"f.yaml:4:1: bogus: unknown field \"bogus\"; valid fields: count, env, gateway, name, tags, wait\n" +
				"f.yaml:5:1: name: duplicate key \"name\" (first at line 1)",
		},
		{name: "empty", in: "", errs: "f.yaml: file is empty"},
		{name: "null", in: "~\n", errs: "f.yaml:1:1: file is empty"},
		{name: "two documents", in: "name: a\n---\nname: b\n", want: strictDoc{}, errs: "f.yaml:2:1: more than one YAML document; put the whole file in one document"},
		{name: "syntax", in: "name: [a\n", errs: "f.yaml:1: did not find expected ',' or ']'"},
		{name: "not a mapping", in: "- a\n", errs: "f.yaml:1:1: must be a mapping with fields: count, env, gateway, name, tags, wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got strictDoc
			_, err := DecodeStrict("f.yaml", []byte(tt.in), &got)
			gotErrs := ""
			if err != nil {
				gotErrs = err.Error()
			}
			if diff := cmp.Diff(tt.errs, gotErrs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Route{})); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeStrictNeedsStructPointer(t *testing.T) {
	var s strictDoc
	for _, v := range []any{s, (*strictDoc)(nil), new(int)} {
		if _, err := DecodeStrict("f.yaml", []byte("name: a\n"), v); err == nil {
			t.Errorf("DecodeStrict(%T): got nil error, want one", v)
		}
	}
}

func TestSource(t *testing.T) {
	in := "name: a\ncount: nope\ntags:\n  - x\ngateway:\n  routes:\n    - name: r\n      service: s\n"
	var doc strictDoc
	src, err := DecodeStrict("dir/f.yaml", []byte(in), &doc)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("got error %v, want one Errors entry", err)
	}
	checks := []struct {
		path            string
		written, failed bool
		at              string
	}{
		{path: "name", written: true, at: "dir/f.yaml:1:1: name: m"},
		{path: "count", written: true, failed: true, at: "dir/f.yaml:2:1: count: m"},
		{path: "tags[0]", written: true, at: "dir/f.yaml:4:5: tags[0]: m"},
		{path: "tags[3]", at: "dir/f.yaml:3:1: tags[3]: m"},
		{path: "wait", at: "dir/f.yaml: wait: m"},
		{path: "gateway.routes[0].timeout", at: "dir/f.yaml:7:7: gateway.routes[0].timeout: m"},
	}
	for _, c := range checks {
		got := []any{src.Written(c.path), src.Failed(c.path), src.FieldError(c.path, "m").Error()}
		want := []any{c.written, c.failed, c.at}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: written, failed, error (-want +got):\n%s", c.path, diff)
		}
	}
	if got, want := src.File(), "dir/f.yaml"; got != want {
		t.Errorf("File() = %q, want %q", got, want)
	}
}

func TestSourceBind(t *testing.T) {
	in := "gateway:\n  routes:\n    - name: r\n      service: missing\n      retries: {attempts: 0}\n"
	var doc strictDoc
	src, err := DecodeStrict("dir/f.yaml", []byte(in), &doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &Config{Routes: doc.Gateway.Routes}
	src.Bind(c, map[string]string{"routes": "gateway.routes"})
	c.SetDefaults()
	if got, want := c.Routes[0].Retries.Attempts, 0; got != want {
		t.Errorf("attempts written as 0: got %d, want %d", got, want)
	}
	if got, want := c.Dir(), "dir"; got != want {
		t.Errorf("Dir() = %q, want %q", got, want)
	}
	err = c.ValidateMode(Stored)
	want := "dir/f.yaml:4:7: routes[0].service: unknown service \"missing\"; none are defined"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
