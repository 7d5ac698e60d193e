// Package h2spectest runs the third-party HTTP/2 conformance suite h2spec
// (github.com/summerwind/h2spec) against a server on loopback, in strict
// mode (which adds the SHOULD-level cases), and fails the test for every
// case that does not pass.
//
// The h2spec binary comes from $PYLON_H2SPEC, else PATH; without it the
// test is skipped, or fails when PYLON_REQUIRE_H2SPEC=1 (as in CI). Install:
//
//	go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
//
// (v2.2.1 reports itself as "Version: 2.0.0" in h2spec --version.)
package h2spectest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	h2specModule = "github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible"
	// h2specCaseTimeout is h2spec's own wait, in seconds, for each expected
	// frame or close (its -o flag).
	h2specCaseTimeout = 2
	// h2specRunTimeout bounds the whole run: about 150 cases, a few
	// seconds in total when they pass.
	h2specRunTimeout = 3 * time.Minute
)

// Options say how to reach the server.
type Options struct {
	// TLS: the server speaks TLS with ALPN h2 (its certificate is not
	// verified); otherwise cleartext HTTP/2 with prior knowledge.
	TLS bool
	// Allowed are cases (h2spec ID, e.g. "http2/3.5/2", to the reason) that
	// may fail; each must be a case h2spec runs.
	Allowed map[string]string
}

// Run runs h2spec against the server at addr. The server must answer GET
// and POST on / with a body of at least 5 bytes (h2spec's flow-control
// cases skip themselves otherwise, which counts as a failure here).
func Run(t *testing.T, addr string, o Options) {
	t.Helper()
	bin := findH2Spec(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	allowed := o.Allowed
	ctx, cancel := context.WithTimeout(t.Context(), h2specRunTimeout)
	defer cancel()
	args := []string{"--strict", "--host", host, "--port", port, "--timeout", strconv.Itoa(h2specCaseTimeout)}
	if o.TLS {
		args = append(args, "--tls", "--insecure")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("h2spec did not finish within %v; its output so far:\n%s", h2specRunTimeout, out.String())
	}
	rep, err := parseH2Spec(out.String())
	if err != nil {
		t.Fatalf("reading h2spec's output: %v (h2spec: %v); output:\n%s", err, runErr, out.String())
	}

	seen := map[string]bool{}
	for _, c := range rep.cases {
		seen[c.id] = true
		reason, known := allowed[c.id]
		switch {
		case c.result == "failed" && known:
			t.Logf("h2spec %s %s: failed, as known for this server (%s)", c.id, c.desc, reason)
		case c.result == "failed":
			t.Errorf("h2spec %s %s:\n%s", c.id, c.desc, c.detail)
		case c.result == "skipped":
			t.Errorf("h2spec %s %s: skipped (h2spec skips a case when GET / has too short a body or the server advertises no SETTINGS_MAX_CONCURRENT_STREAMS)", c.id, c.desc)
		case known:
			t.Logf("h2spec %s %s: passed, though listed as a known failure (%s)", c.id, c.desc, reason)
		}
	}
	for id := range allowed {
		if !seen[id] {
			t.Errorf("a known failure, h2spec %s, is not a case h2spec ran: update the list", id)
		}
	}
	if runErr != nil && rep.failed == 0 {
		t.Errorf("h2spec reported no failed case but exited with %v; output:\n%s", runErr, out.String())
	}
	t.Logf("h2spec: %d cases, %d passed, %d skipped, %d failed", rep.total, rep.passed, rep.skipped, rep.failed)
}

// findH2Spec returns the h2spec binary's path from $PYLON_H2SPEC or PATH.
// Without one it skips t, or fails it when PYLON_REQUIRE_H2SPEC=1.
func findH2Spec(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PYLON_H2SPEC"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("PYLON_H2SPEC: %v", err)
		}
		return p
	}
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	msg := "h2spec not found: set PYLON_H2SPEC or put it on PATH (go install " + h2specModule + ")"
	if os.Getenv("PYLON_REQUIRE_H2SPEC") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// h2specCase is one case of an h2spec run.
type h2specCase struct {
	id     string // spec/section/number, e.g. "http2/6.5.3/1", as h2spec's own arguments name it
	desc   string
	result string // "passed", "failed" or "skipped"
	detail string // for a failure, h2spec's text: requirement, expected, actual
}

type h2specReport struct {
	cases                          []h2specCase
	total, passed, skipped, failed int
}

var (
	h2specSpecs = map[string]string{
		"Generic tests for HTTP/2 server":                "generic",
		"Hypertext Transfer Protocol Version 2 (HTTP/2)": "http2",
		"HPACK: Header Compression for HTTP/2":           "hpack",
	}
	h2specSection = regexp.MustCompile(`^(\d+(?:\.\d+)*)\. `)
	h2specResult  = regexp.MustCompile(`^(✔ |× )?(\d+): (.*)$`)
	h2specSummary = regexp.MustCompile(`^(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed$`)
)

// parseH2Spec reads h2spec's (non-verbose, uncoloured) output. Each case
// prints "  N: desc" while it runs, then "\r", then its result: "✔ N: desc"
// (passed), "× N: desc" and indented detail lines (failed), or "N: desc"
// (skipped). Cases sit under spec titles (no indent) and numbered section
// titles. A "Failures:" section repeating the failures and the summary
// line "T tests, P passed, S skipped, F failed" end the output; the counts
// parsed must match the summary.
func parseH2Spec(out string) (*h2specReport, error) {
	rep := &h2specReport{}
	var spec, section string
	last := -1   // index of the failed case whose detail lines follow
	indent := "" // the indent of its first detail line, trimmed from the rest
	summary := false
	inFailures := false
	for _, line := range strings.Split(out, "\n") {
		if i := strings.LastIndexByte(line, '\r'); i >= 0 {
			line = line[i+1:]
		}
		text := strings.TrimSpace(line)
		if m := h2specSummary.FindStringSubmatch(text); m != nil {
			rep.total, _ = strconv.Atoi(m[1])
			rep.passed, _ = strconv.Atoi(m[2])
			rep.skipped, _ = strconv.Atoi(m[3])
			rep.failed, _ = strconv.Atoi(m[4])
			summary = true
			continue
		}
		if text == "Failures:" {
			inFailures = true
		}
		if inFailures || text == "" {
			last = -1
			continue
		}
		if line == text { // no indent: a spec's title, or something unexpected
			key, ok := h2specSpecs[text]
			if !ok {
				if strings.HasPrefix(text, "Finished in ") {
					continue
				}
				return nil, fmt.Errorf("unexpected line %q", text)
			}
			spec, section, last = key, "", -1
			continue
		}
		if m := h2specSection.FindStringSubmatch(text); m != nil {
			section, last = m[1], -1
			continue
		}
		if m := h2specResult.FindStringSubmatch(text); m != nil {
			if spec == "" || section == "" {
				return nil, fmt.Errorf("case %q outside a spec and section", text)
			}
			c := h2specCase{id: spec + "/" + section + "/" + m[2], desc: m[3]}
			switch m[1] {
			case "✔ ":
				c.result = "passed"
			case "× ":
				c.result = "failed"
			default:
				c.result = "skipped"
			}
			rep.cases = append(rep.cases, c)
			last = -1
			if c.result == "failed" {
				last = len(rep.cases) - 1
			}
			continue
		}
		if last < 0 {
			return nil, fmt.Errorf("unexpected line %q", text)
		}
		if rep.cases[last].detail == "" {
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))]
		}
		rep.cases[last].detail += "    " + strings.TrimPrefix(strings.TrimRight(line, " "), indent) + "\n"
	}
	if !summary {
		return nil, fmt.Errorf("no summary line")
	}
	counts := map[string]int{}
	for _, c := range rep.cases {
		counts[c.result]++
	}
	if len(rep.cases) != rep.total || counts["passed"] != rep.passed || counts["skipped"] != rep.skipped || counts["failed"] != rep.failed {
		return nil, fmt.Errorf("parsed %d cases (%v), but the summary says %d tests, %d passed, %d skipped, %d failed",
			len(rep.cases), counts, rep.total, rep.passed, rep.skipped, rep.failed)
	}
	if rep.total == 0 {
		return nil, fmt.Errorf("h2spec ran no case")
	}
	return rep, nil
}
