package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Source is where the fields of a document decoded by DecodeStrict were
// written, and which of them failed to decode. Files that embed config
// types in a larger document (the app file of pylon up) use it to place
// their own validation errors and to validate the Config parts they hold.
type Source struct {
	file   string
	pos    map[string]pos
	failed map[string]bool
}

// DecodeStrict decodes the single YAML document in data into v, a non-nil
// pointer to a struct, with the rules Parse uses: fields by their yaml tag,
// unknown fields, wrong types, duplicate keys and merge keys refused,
// Duration and ByteSize read with their units, aliases bounded. Every
// problem is collected; the error is an Errors naming file:line:col and the
// field path. The Source is returned even on error, with v filled as far
// as it decoded, so later checks can skip the fields that failed.
func DecodeStrict(filename string, data []byte, v any) (*Source, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("decode %s: need a non-nil pointer to a struct, not %T", filename, v)
	}
	s := &Source{file: filename, pos: map[string]pos{}}
	d := &decoder{file: filename, pos: s.pos}
	if root := d.root(data); root != nil {
		d.value(root, rv.Elem(), "")
	}
	s.failed = d.failed
	if len(d.errs) > 0 {
		d.errs.sort()
		return s, d.errs
	}
	return s, nil
}

// root parses data as exactly one YAML document and returns its top node,
// or nil after recording why there is none.
func (d *decoder) root(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(nil, "", "file is empty")
			return nil
		}
		d.syntax(err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.fail(&next, "", "more than one YAML document; put the whole file in one document")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if isNull(root) {
		d.fail(root, "", "file is empty")
		return nil
	}
	return root
}

// File is the file name given to DecodeStrict.
func (s *Source) File() string { return s.file }

// Written reports whether the field at path (like "services[0].replicas")
// was written in the document with a non-empty value, as opposed to left
// out so its default applies.
func (s *Source) Written(path string) bool {
	_, ok := s.pos[path]
	return ok
}

// Failed reports whether the field at path, or a field holding it, failed
// to decode, so a later check should not report it again.
func (s *Source) Failed(path string) bool {
	if s.failed[""] {
		return true
	}
	for p := path; p != ""; {
		if s.failed[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return false
}

// FieldError returns an error about the field at path that names the file
// and the line and column of the field, or of its nearest written ancestor
// when the field itself was left out.
func (s *Source) FieldError(path, msg string) *FieldError {
	c := Config{pos: s.pos}
	e := &FieldError{File: s.file, Path: path, Msg: msg}
	if p, ok := c.at(path); ok {
		e.Line, e.Column = p.line, p.col
	}
	return e
}

// Bind makes c, assembled from parts of the document s describes, know
// where those parts were written: for each entry of parts, the fields s
// holds under the document path (the value, like "gateway.routes") are
// placed under the Config path (the key, like "routes"). c also takes s's
// file name and, for relative TLS file paths, its directory. Call Bind
// before SetDefaults, so fields written as zero keep their zero, and
// errors from ValidateMode then carry lines and columns (with Config
// paths, which the caller maps back).
func (s *Source) Bind(c *Config, parts map[string]string) {
	c.file = s.file
	if s.file != "" {
		c.dir = filepath.Dir(s.file)
	}
	if c.pos == nil {
		c.pos = map[string]pos{}
	}
	for to, from := range parts {
		for path, p := range s.pos {
			rest, ok := strings.CutPrefix(path, from)
			if ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				c.pos[to+rest] = p
			}
		}
	}
}

// ResolvePaths makes the relative TLS file paths in c relative to the
// directory of the file c was parsed from or bound to, as Parse does.
func (c *Config) ResolvePaths() { c.resolvePaths() }
