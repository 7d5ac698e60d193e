package resource

import (
	"bytes"
	"encoding/json"
	"strings"

	"go.yaml.in/yaml/v3"
)

// diff shows the change from old to new (config JSON, either may be nil) as
// YAML lines prefixed with "-", "+" or " ".
func diff(old, new json.RawMessage) string {
	a, b := yamlLines(old), yamlLines(new)
	// Longest common subsequence; resources are small, so O(n*m) is fine.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("- " + a[i] + "\n")
			i++
		default:
			out.WriteString("+ " + b[j] + "\n")
			j++
		}
	}
	return out.String()
}

// yamlLines renders config JSON as YAML lines with keys sorted.
func yamlLines(spec json.RawMessage) []string {
	if spec == nil {
		return nil
	}
	// Numbers stay as written: through float64, 67108864 would show as
	// 6.7108864e+07.
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{string(spec)}
	}
	b, err := yaml.Marshal(numbers(v))
	if err != nil {
		return []string{string(spec)}
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// numbers turns the json.Numbers in v into integers where they are whole,
// so YAML shows them bare.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
