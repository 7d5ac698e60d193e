package ctl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
)

// applyResult is the API's answer to POST /v1/apply.
type applyResult struct {
	DryRun   bool `json:"dry_run"`
	Outcomes []struct {
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		Action string `json:"action"`
		Diff   string `json:"diff"`
	} `json:"outcomes"`
	Notes []string `json:"notes"`
}

// setupApply: apply -f FILE [--dry-run]. An app file of pylon up (its
// services have commands) goes to the running app, which changes what
// differs.
func setupApply(fs *flag.FlagSet) runFunc {
	file := fs.String("f", "", "the config document to apply; - reads stdin (also --filename)")
	fs.StringVar(file, "filename", "", "same as -f")
	dryRun := fs.Bool("dry-run", false, "print what would change, with diffs, and write nothing")
	return func(ctx context.Context, s *session, args []string) error {
		if len(args) > 0 {
			return usageErrorf("apply takes no arguments but its flags (did you mean -f %s?)", args[0])
		}
		if *file == "" {
			return usageErrorf("apply needs -f FILE (or -f - for stdin)")
		}
		return s.apply(ctx, *file, *dryRun)
	}
}

func (s *session) apply(ctx context.Context, file string, dryRun bool) error {
	data, name, err := s.readInput(file)
	if err != nil {
		return err
	}
	if isAppFile(data) {
		switch {
		case file == "-":
			return usageErrorf("an app file is applied by its path, not from stdin: its relative paths are resolved against its directory")
		case dryRun:
			return usageErrorf("--dry-run does not apply to an app file")
		}
		return ApplyApp(ctx, s.client, file, data, s.stdout)
	}
	q := url.Values{"filename": {name}}
	if dryRun {
		q.Set("dry_run", "true")
	}
	doc, err := s.client.Do(ctx, http.MethodPost, "/v1/apply", q, data, "application/yaml")
	if err != nil {
		return err
	}
	var res applyResult
	if err := json.Unmarshal(doc, &res); err != nil {
		return fmt.Errorf("read the answer to apply: %w", err)
	}
	for _, n := range res.Notes {
		s.notef("note: %s", n)
	}
	if len(res.Outcomes) == 0 {
		s.notef("nothing to apply: %s has no %s", name, configKinds("or"))
	}
	if s.output != "table" {
		return s.printDoc(doc)
	}
	return s.printOutcomes(res)
}

// printOutcomes prints a line per outcome ("service/orders created") and,
// in a dry run, the diff of each change.
func (s *session) printOutcomes(res applyResult) error {
	suffix := ""
	if res.DryRun {
		suffix = " (dry run)"
	}
	for _, o := range res.Outcomes {
		if _, err := fmt.Fprintf(s.stdout, "%s/%s %s%s\n", o.Kind, o.Name, o.Action, suffix); err != nil {
			return err
		}
		if res.DryRun && o.Diff != "" {
			if _, err := io.WriteString(s.stdout, indent(o.Diff, "    ")); err != nil {
				return err
			}
		}
	}
	return nil
}

// readInput reads file, or stdin for "-", and names it for messages.
func (s *session) readInput(file string) ([]byte, string, error) {
	if file == "-" {
		data, err := io.ReadAll(s.stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read stdin: %w", err)
		}
		return data, "stdin", nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("read config document: %w", err)
	}
	return data, file, nil
}
