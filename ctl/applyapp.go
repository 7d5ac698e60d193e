package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// isAppFile reports whether a document is an app file of pylon up rather
// than a config document: a service in it has a command.
func isAppFile(data []byte) bool {
	var doc struct {
		Services []map[string]any `yaml:"services"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return false
	}
	for _, s := range doc.Services {
		if _, ok := s["command"]; ok {
			return true
		}
	}
	return false
}

// appChanges is the answer to PUT /v1/app.
type appChanges struct {
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Changed  []string `json:"changed"`
	Rescaled []string `json:"rescaled"`
	Config   bool     `json:"config"`
}

// ApplyApp sends the app file at path, holding data, to the pylon up whose
// admin API c calls; it changes what differs from what runs. What changed
// is printed to w, a line per kind of change.
func ApplyApp(ctx context.Context, c *Client, path string, data []byte, w io.Writer) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{"filename": abs, "content": string(data)})
	if err != nil {
		return err
	}
	doc, err := c.Do(ctx, http.MethodPut, "/v1/app", nil, body, "application/json")
	if err != nil {
		return err
	}
	var ch appChanges
	if err := json.Unmarshal(doc, &ch); err != nil {
		return fmt.Errorf("read the answer to the app file: %w", err)
	}
	printed := false
	for _, l := range []struct {
		what  string
		names []string
	}{{"added", ch.Added}, {"removed", ch.Removed}, {"changed", ch.Changed}, {"rescaled", ch.Rescaled}} {
		if len(l.names) > 0 {
			fmt.Fprintf(w, "%s: %s\n", l.what, strings.Join(l.names, ", "))
			printed = true
		}
	}
	if ch.Config {
		fmt.Fprintln(w, "the gateway's listeners and routes or the policies changed")
		printed = true
	}
	if !printed {
		fmt.Fprintln(w, "nothing to change")
	}
	return nil
}
