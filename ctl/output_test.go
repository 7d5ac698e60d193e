package ctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func TestToYAML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"keeps key order", `{"z":1,"a":2}`, "z: 1\na: 2\n"},
		{"keeps number text", `{"v":1700000000123,"f":2.5e3,"big":12345678901234567890}`, "v: 1700000000123\nf: 2.5e3\nbig: 12345678901234567890\n"},
		{"quotes strings that read as other types", `{"a":"42","b":"true","c":"null","d":"a: b"}`, "a: \"42\"\nb: \"true\"\nc: \"null\"\nd: 'a: b'\n"},
		{"block style", `{"l":[1,{"x":[]}],"m":{}}`, "l:\n  - 1\n  - x: []\nm: {}\n"},
		{"multi-line string", `{"s":"a\nb"}`, "s: |-\n  a\n  b\n"},
		{"escapes", `{"s":"\u003c\t\u00e9"}`, "s: \"<\\té\"\n"},
		{"indented json", "{\n\t\"a\": [\n\t\t1\n\t]\n}\n", "a:\n  - 1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toYAML([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("yaml (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzToYAML checks that YAML made from JSON reads back as the same value.
func FuzzToYAML(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,"2",true,null]`, `{"s":"x: y\n- z","n":-0.5e-3}`, `"yes"`, `{"":{"":[]}}`, `"\u2028#"`, `{"k":"\t"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var want any
		if json.Unmarshal(in, &want) != nil {
			return
		}
		out, err := toYAML(in)
		if err != nil {
			return // JSON YAML cannot hold, like a duplicate key; never from the API
		}
		var got any
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Fatalf("yaml made from %q does not parse: %v\n%s", in, err, out)
		}
		if diff := cmp.Diff(want, numbersToFloat(got)); diff != "" {
			t.Fatalf("yaml made from %q reads back differently (-json +yaml):\n%s\n%s", in, diff, out)
		}
	})
}

// numbersToFloat makes YAML's numbers float64, as JSON's are.
func numbersToFloat(v any) any {
	switch v := v.(type) {
	case int:
		return float64(v)
	case uint64:
		return float64(v)
	case map[string]any:
		for k, e := range v {
			v[k] = numbersToFloat(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbersToFloat(e)
		}
	}
	return v
}

func TestPrintTable(t *testing.T) {
	var b strings.Builder
	if err := printTable(&b, []string{"NAME", "V"}, [][]string{{"a-long-name", "1"}, {"b", "22"}}); err != nil {
		t.Fatal(err)
	}
	want := "NAME          V\na-long-name   1\nb             22\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

// BenchmarkToYAML renders a list of 100 services as YAML.
func BenchmarkToYAML(b *testing.B) {
	item := `{"kind":"service","name":"orders","version":42,"spec":{"name":"orders","protocol":"http1","balancer":"round_robin","endpoints":[{"address":"10.0.0.1:80","weight":1}],"health":{"outlier":{"interval":"10s","consecutive_5xx":5}}}}`
	doc := []byte(`{"revision":42,"items":[` + strings.Repeat(item+",", 99) + item + `]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := toYAML(doc); err != nil {
			b.Fatal(err)
		}
	}
}
