package config

import (
	"maps"
	"reflect"
	"strings"
)

// RedactedValue is the value that replaces secrets in Redacted.
const RedactedValue = "REDACTED"

// Redacted returns a deep copy of c in which inline secrets are replaced by
// "REDACTED": values of header edits and header matches whose header name
// looks secret (authorization, cookie, anything with token, secret,
// password, key or auth in it). Consumers' API keys appear only hashed
// (SetDefaults hashes them; a key still plain here is hashed). File paths,
// including TLS key paths, are kept: they are not secrets.
func (c *Config) Redacted() *Config {
	out := &Config{file: c.file, dir: c.dir, pos: maps.Clone(c.pos)}
	deepCopy(reflect.ValueOf(out).Elem(), reflect.ValueOf(c).Elem())
	for i := range out.Routes {
		r := &out.Routes[i]
		redactMatches(r.Match.Headers)
		for _, m := range []map[string]string{r.RequestHeaders.Add, r.RequestHeaders.Set, r.ResponseHeaders.Add, r.ResponseHeaders.Set} {
			for k := range m {
				if secretHeader(k) {
					m[k] = RedactedValue
				}
			}
		}
	}
	for i := range out.Consumers {
		for j, k := range out.Consumers[i].APIKeys {
			if !strings.HasPrefix(k, APIKeyHashPrefix) {
				out.Consumers[i].APIKeys[j] = HashAPIKey(k)
			}
		}
	}
	return out
}

func redactMatches(ms []ValueMatch) {
	for i := range ms {
		if secretHeader(ms[i].Name) {
			if ms[i].Exact != "" {
				ms[i].Exact = RedactedValue
			}
			if ms[i].Regex != "" {
				ms[i].Regex = RedactedValue
			}
		}
	}
}

// secretHeader reports whether a header's values are likely credentials.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"auth", "cookie", "token", "secret", "password", "key", "session"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// deepCopy copies the exported fields of src into dst, allocating new
// pointers, slices and maps so nothing is shared.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if !src.IsNil() {
			dst.Set(reflect.New(src.Type().Elem()))
			deepCopy(dst.Elem(), src.Elem())
		}
	case reflect.Slice:
		if !src.IsNil() {
			dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
			for i := range src.Len() {
				deepCopy(dst.Index(i), src.Index(i))
			}
		}
	case reflect.Map:
		if !src.IsNil() {
			dst.Set(reflect.MakeMapWithSize(src.Type(), src.Len()))
			for it := src.MapRange(); it.Next(); {
				e := reflect.New(src.Type().Elem()).Elem()
				deepCopy(e, it.Value())
				dst.SetMapIndex(it.Key(), e)
			}
		}
	case reflect.Struct:
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
