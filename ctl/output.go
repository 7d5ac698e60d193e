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
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, fmt.Errorf("read the server's answer: %w", err)
	}
	plain(&n)
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

// plain drops the flow and quoting styles JSON came with, so the encoder
// picks block style and quotes only strings that need it.
func plain(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plain(c)
	}
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
