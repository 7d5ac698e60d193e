package adminapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// responseSchema finds the schema the operation documents for an answer
// of the status and media type.
func (d *openapiDoc) responseSchema(op operation, status int, mediaType string) (any, bool) {
	resp, ok := op.raw["responses"].(map[string]any)[strconv.Itoa(status)]
	if !ok {
		return nil, false
	}
	resp = d.deref(resp)
	content, _ := resp.(map[string]any)["content"].(map[string]any)
	media, ok := content[mediaType].(map[string]any)
	if !ok {
		return nil, false
	}
	s, ok := media["schema"]
	return s, ok
}

// deref follows a $ref.
func (d *openapiDoc) deref(v any) any {
	for {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		if v, ok = resolve(d.raw, ref); !ok {
			return nil
		}
	}
}

// checkBody fails the test unless the JSON body matches the schema the
// operation documents for its status and content type.
func (d *openapiDoc) checkBody(t testing.TB, op operation, status int, contentType string, body []byte) {
	t.Helper()
	if len(body) == 0 {
		return
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	s, ok := d.responseSchema(op, status, mediaType)
	if !ok {
		t.Errorf("%s: status %d with %s: the document has no schema for it", op.OperationID, status, mediaType)
		return
	}
	docs := [][]byte{body}
	if mediaType == "application/x-ndjson" {
		// The schema is each line's.
		docs = bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	}
	for i, doc := range docs {
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Errorf("%s: status %d: body (line %d) is not JSON: %v", op.OperationID, status, i+1, err)
			continue
		}
		for _, p := range d.validate(s, v, "$") {
			t.Errorf("%s: status %d: body (line %d) does not match the documented schema: %s", op.OperationID, status, i+1, p)
		}
	}
}

// validate reports where v does not match schema s. It knows the parts of
// JSON Schema openapi.json uses: $ref, anyOf, oneOf, const, enum, type,
// properties, required, additionalProperties, items, pattern, minimum and
// maximum.
func (d *openapiDoc) validate(s, v any, at string) []string {
	sm, ok := d.deref(s).(map[string]any)
	if !ok {
		return []string{at + ": unresolvable schema"}
	}
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, at+": "+fmt.Sprintf(format, args...)) }
	if alts, ok := sm["anyOf"].([]any); ok && d.matching(alts, v, at) == 0 {
		fail("matches none of anyOf")
	}
	if alts, ok := sm["oneOf"].([]any); ok && d.matching(alts, v, at) != 1 {
		fail("matches %d of oneOf, want 1", d.matching(alts, v, at))
	}
	if c, ok := sm["const"]; ok && !reflect.DeepEqual(c, v) {
		fail("got %v, want %v", v, c)
	}
	if enum, ok := sm["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return reflect.DeepEqual(e, v) }) {
		fail("got %v, want one of %v", v, enum)
	}
	if typ, ok := sm["type"]; ok && !hasType(typ, v) {
		fail("got %T %v, want type %v", v, v, typ)
		return problems
	}
	switch v := v.(type) {
	case map[string]any:
		problems = append(problems, d.validateObject(sm, v, at)...)
	case []any:
		if items, ok := sm["items"]; ok {
			for i, e := range v {
				problems = append(problems, d.validate(items, e, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
	case string:
		if p, ok := sm["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			fail("%q does not match %s", v, p)
		}
	case float64:
		if lo, ok := sm["minimum"].(float64); ok && v < lo {
			fail("%v is below %v", v, lo)
		}
		if hi, ok := sm["maximum"].(float64); ok && v > hi {
			fail("%v is above %v", v, hi)
		}
	}
	return problems
}

func (d *openapiDoc) matching(alts []any, v any, at string) int {
	n := 0
	for _, alt := range alts {
		if len(d.validate(alt, v, at)) == 0 {
			n++
		}
	}
	return n
}

func (d *openapiDoc) validateObject(sm map[string]any, v map[string]any, at string) []string {
	var problems []string
	props, _ := sm["properties"].(map[string]any)
	required, _ := sm["required"].([]any)
	for _, r := range required {
		if _, ok := v[r.(string)]; !ok {
			problems = append(problems, fmt.Sprintf("%s: lacks required %q", at, r))
		}
	}
	for k, e := range v {
		if ps, ok := props[k]; ok {
			problems = append(problems, d.validate(ps, e, at+"."+k)...)
			continue
		}
		switch extra := sm["additionalProperties"].(type) {
		case bool:
			if !extra {
				problems = append(problems, fmt.Sprintf("%s: has undocumented property %q", at, k))
			}
		case map[string]any:
			problems = append(problems, d.validate(extra, e, at+"."+k)...)
		}
	}
	return problems
}

// hasType reports whether v is of the JSON Schema type (a name or a list).
func hasType(typ, v any) bool {
	if list, ok := typ.([]any); ok {
		return slices.ContainsFunc(list, func(t any) bool { return hasType(t, v) })
	}
	switch typ {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func TestValidateCatchesMismatches(t *testing.T) {
	doc := loadDoc(t)
	outcome := map[string]any{"$ref": "#/components/schemas/Outcome"}
	tests := []struct {
		name  string
		value string
		want  int // problems
	}{
		{"valid", `{"kind":"service","name":"a","action":"created","version":3}`, 0},
		{"missing required", `{"kind":"service","action":"created"}`, 1},
		{"undocumented property", `{"kind":"service","name":"a","action":"created","extra":1}`, 1},
		{"not in enum", `{"kind":"service","name":"a","action":"renamed"}`, 1},
		{"wrong type", `{"kind":"service","name":"a","action":"created","version":"3"}`, 1},
		{"not an integer", `{"kind":"service","name":"a","action":"created","version":3.5}`, 1},
		{"not an object", `[]`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.value), &v); err != nil {
				t.Fatal(err)
			}
			if got := doc.validate(outcome, v, "$"); len(got) != tc.want {
				t.Errorf("got problems %q, want %d", got, tc.want)
			}
		})
	}
}
