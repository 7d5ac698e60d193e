package config

import (
	"sort"
	"strconv"
	"strings"
)

// FieldError is one problem found in a config: where it is and what is wrong.
// File, Line and Column are empty for configs built in Go rather than parsed.
type FieldError struct {
	File   string // the file name given to Parse or Load
	Line   int    // 1-based line, 0 if unknown
	Column int    // 1-based column, 0 if unknown
	Path   string // the field path, for example routes[0].match.path.prefix
	Msg    string // what is wrong and what would be valid
}

// Error formats e as "file:line:col: path: msg", leaving out the parts
// that are unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config, sorted by position.
type Errors []*FieldError

// Error joins the errors, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Column < es[j].Column
	})
}
