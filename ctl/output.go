package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// printDoc prints an API object (JSON) as s.output asks: indented JSON or
// YAML.
func (s *session) printDoc(doc []byte) error {
	if s.output == "yaml" {
		out, err := toYAML(doc)
		if err != nil {
			return err
		}
		_, err = s.stdout.Write(out)
		return err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(doc), "", "  "); err != nil {
		return fmt.Errorf("read the server's answer: %w", err)
	}
	b.WriteByte('\n')
	_, err := s.stdout.Write(b.Bytes())
	return err
}

// toYAML renders JSON as block-style YAML, keeping the order of object
// keys and the text of numbers.
func toYAML(doc []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(jsonBreaks.Replace(string(doc))), &n); err != nil {
		return nil, fmt.Errorf("read the server's answer: %w", err)
	}
	if err := plain(&n); err != nil {
		return nil, fmt.Errorf("read the server's answer: %w", err)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("render yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render yaml: %w", err)
	}
	return b.Bytes(), nil
}

// jsonBreaks escapes the characters YAML reads as line breaks, which JSON
// strings may hold raw: JSON allows them nowhere else, so this changes only
// how the strings are written.
var jsonBreaks = strings.NewReplacer("\u0085", `\u0085`, "\u2028", `\u2028`, "\u2029", `\u2029`, "\ufeff", `\ufeff`)

// plain drops the flow and quoting styles JSON came with, so the encoder
// picks block style and quotes only strings that need it. It refuses an
// object with a key twice, which JSON allows and YAML does not.
func plain(n *yaml.Node) error {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.ContainsFunc(n.Value, yamlBreak) {
		// The encoder would write these unquoted, and YAML reads them as
		// line breaks (or drops the BOM).
		n.Style = yaml.DoubleQuotedStyle
	}
	if n.Kind == yaml.MappingNode {
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if seen[k] {
				return fmt.Errorf("line %d: key %q appears twice", n.Content[i].Line, k)
			}
			seen[k] = true
		}
	}
	for _, c := range n.Content {
		if err := plain(c); err != nil {
			return err
		}
	}
	return nil
}

// yamlBreak reports the characters YAML takes as line breaks besides \n
// and \r, and the byte order mark.
func yamlBreak(r rune) bool {
	return r == '\u0085' || r == '\u2028' || r == '\u2029' || r == '\ufeff'
}

// printTable prints rows under header, aligned; rows are printed as given.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// indent prefixes every line of text with prefix.
func indent(text, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// orDash shows an empty cell as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// notef prints a note for people to stderr.
func (s *session) notef(format string, args ...any) {
	fmt.Fprintf(s.stderr, format+"\n", args...)
}
