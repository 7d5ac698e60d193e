package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxAliasNodes bounds the nodes one Parse decodes through aliases, so a
// small file cannot expand into an enormous config ("billion laughs").
// Nodes written out in the file need no bound: they cost their bytes.
const maxAliasNodes = 100000

// decoder walks a yaml.Node tree against the config structs, recording the
// position of every field and collecting every error.
type decoder struct {
	file   string
	pos    map[string]pos
	errs   Errors
	failed map[string]bool // paths whose value could not be decoded

	inAlias    int // depth of aliases being expanded
	aliasNodes int // nodes decoded through aliases
}

// nodeDecoder is implemented by types with their own YAML shape.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	e := &FieldError{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.add(e)
}

// add records e and marks its path as failed, so validation does not report
// the same field again.
func (d *decoder) add(e *FieldError) {
	if d.failed == nil {
		d.failed = map[string]bool{}
	}
	d.failed[e.Path] = true
	d.errs = append(d.errs, e)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document decodes the single YAML document in data into c.
func (d *decoder) document(data []byte, c *Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(nil, "", "file is empty; at least listeners, routes and services are needed")
			return
		}
		d.syntax(err)
		return
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.fail(&next, "", "more than one YAML document; put the whole config in one document")
		return
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		d.fail(root, "", "file is empty; at least listeners, routes and services are needed")
		return
	}
	d.value(root, reflect.ValueOf(c).Elem(), "")
}

// syntax turns a YAML parser error into a FieldError with its line.
func (d *decoder) syntax(err error) {
	e := &FieldError{File: d.file, Msg: err.Error()}
	if m := yamlLine.FindStringSubmatch(e.Msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	e.Msg = strings.TrimPrefix(e.Msg, "yaml: ")
	d.add(e)
}

// value decodes n into v, dispatching on v's type.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		d.inAlias++
		defer func() { d.inAlias-- }()
		n = n.Alias
	}
	if d.inAlias > 0 {
		if d.aliasNodes++; d.aliasNodes == maxAliasNodes {
			// Reported for the whole document, so validation is skipped too.
			d.fail(n, "", "aliases expand to more than %d values (at %s); write the config out", maxAliasNodes, path)
		}
		if d.aliasNodes >= maxAliasNodes {
			return
		}
	}
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeNode(d, n, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

// structure decodes a mapping into the struct v, field by yaml tag.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	fields, names := fieldsOf(v.Type())
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping with fields: %s", strings.Join(names, ", "))
		return
	}
	d.pairs(n, path, func(key string, k, val *yaml.Node, p string) {
		i, ok := fields[key]
		if !ok {
			d.fail(k, p, "unknown field %q; valid fields: %s", key, strings.Join(names, ", "))
			return
		}
		// An empty (null) value means "not set", so the default applies;
		// only an optional section (a pointer) is switched on by it.
		if !isNull(val) || v.Field(i).Kind() == reflect.Pointer {
			d.pos[p] = pos{k.Line, k.Column}
		}
		d.value(val, v.Field(i), p)
	})
}

// pairs calls fn for each key of a mapping node, refusing non-string keys,
// merge keys and duplicates.
func (d *decoder) pairs(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node, p string)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "mapping keys must be strings")
			continue
		}
		p := join(path, k.Value)
		if k.Tag == "!!merge" {
			d.fail(k, p, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.fail(k, p, "duplicate key %q (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, val, p)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// sequence decodes a list node into the slice v.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.pos[p] = pos{item.Line, item.Column}
		d.value(item, s.Index(i), p)
	}
	v.Set(s)
}

// mapping decodes a mapping node into the map v (string keys).
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping of names to values")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	d.pairs(n, path, func(key string, k, val *yaml.Node, p string) {
		d.pos[p] = pos{k.Line, k.Column}
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(val, e, p)
		m.SetMapIndex(reflect.ValueOf(key), e)
	})
	v.Set(m)
}

// scalar decodes a scalar node into a string, bool, int or float.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	want := map[reflect.Kind]string{
		reflect.String: "a string", reflect.Bool: "true or false",
		reflect.Int: "an integer", reflect.Float64: "a number",
	}[v.Kind()]
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "must be %s", want)
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	if v.Kind() == reflect.String {
		v.SetString(n.Value)
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.fail(n, path, "must be %s, not %q", want, n.Value)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// fieldsOf maps the yaml names of t's fields to their index, and lists the
// names sorted for error messages.
func fieldsOf(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	sort.Strings(names)
	return fields, names
}

// decodeNode reads a duration string; a bare number is refused for lack of a unit.
func (t *Duration) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch {
	case isNull(n):
		*t = 0
	case n.Kind != yaml.ScalarNode:
		d.fail(n, path, "must be a duration like 5s or 250ms")
	case n.Tag == "!!int" || n.Tag == "!!float":
		d.fail(n, path, "%s needs a unit, like %ss or %sms", n.Value, n.Value, n.Value)
	default:
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(n, path, "must be a duration like 5s or 250ms, not %q", n.Value)
			return
		}
		*t = Duration(v)
	}
}

// decodeNode reads a byte count or a size with a unit.
func (b *ByteSize) decodeNode(d *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		*b = 0
		return
	}
	v, err := ParseByteSize(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		d.fail(n, path, "%v", errByteSize)
		return
	}
	*b = v
}

// endpointFields has Endpoint's fields without its decodeNode method.
type endpointFields Endpoint

// decodeNode reads "host:port" or {address: host:port, weight: n}.
func (e *Endpoint) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		e.Address = n.Value
	case yaml.MappingNode:
		d.structure(n, reflect.ValueOf((*endpointFields)(e)).Elem(), path)
	default:
		d.fail(n, path, "must be host:port or a mapping with fields: address, weight")
	}
}
