package ctl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// processes and events are the tables of ps and events, which show the
// app pylon up runs (GET /v1/app/processes and /v1/app/events).
var (
	processes = &kind{plural: "processes", singular: "process", header: []string{"NAME", "SERVICE", "KIND", "PID", "HEALTH", "RESTARTS"}, row: processRow}
	events    = &kind{plural: "events", singular: "event", header: []string{"TIME", "PROCESS", "MESSAGE"}, row: eventRow}
)

func processRow(item json.RawMessage, _ time.Time) ([]string, error) {
	p, err := decodeItem[struct {
		Name     string `json:"name"`
		Service  string `json:"service"`
		Kind     string `json:"kind"`
		Pid      int    `json:"pid"`
		Health   string `json:"health"`
		Restarts int    `json:"restarts"`
	}](item)
	pid := "-"
	if p.Pid > 0 {
		pid = strconv.Itoa(p.Pid)
	}
	return []string{p.Name, orDash(p.Service), p.Kind, pid, orDash(p.Health), strconv.Itoa(p.Restarts)}, err
}

func eventRow(item json.RawMessage, _ time.Time) ([]string, error) {
	e, err := decodeItem[struct {
		Time    time.Time `json:"time"`
		Process string    `json:"process"`
		Message string    `json:"message"`
	}](item)
	return []string{e.Time.UTC().Format(time.RFC3339), e.Process, e.Message}, err
}

// runPs: ps.
func runPs(ctx context.Context, s *session, args []string) error {
	if len(args) > 0 {
		return usageErrorf("ps takes no arguments")
	}
	return s.showList(ctx, processes, "/v1/app/processes", nil)
}

// setupEvents: events [--since D].
func setupEvents(fs *flag.FlagSet) runFunc {
	since := fs.Duration("since", 0, "only the events of the last D, like 10m; 0 is all")
	return func(ctx context.Context, s *session, args []string) error {
		switch {
		case len(args) > 0:
			return usageErrorf("events takes no arguments but --since")
		case *since < 0:
			return usageErrorf("--since must not be negative")
		}
		q := url.Values{}
		if *since > 0 {
			q.Set("since", s.now().Add(-*since).UTC().Format(time.RFC3339Nano))
		}
		return s.showList(ctx, events, "/v1/app/events", q)
	}
}

// showList fetches the list at path and prints its items as k's table, or
// the answer as -o asks.
func (s *session) showList(ctx context.Context, k *kind, path string, q url.Values) error {
	f, err := fetchList(ctx, s.client, path, q, "items")
	if err != nil {
		return err
	}
	if s.output != "table" {
		return s.printDoc(f.doc)
	}
	return s.printItems(k, f)
}

// runScale: scale SERVICE=N.
func runScale(ctx context.Context, s *session, args []string) error {
	if len(args) != 1 {
		return usageErrorf("scale takes one SERVICE=REPLICAS, like orders=3")
	}
	service, n, ok := strings.Cut(args[0], "=")
	replicas, err := strconv.Atoi(n)
	if !ok || service == "" || err != nil || replicas < 0 {
		return usageErrorf("scale: %q is not SERVICE=REPLICAS with REPLICAS a number from 0, like orders=3", args[0])
	}
	return s.operate(ctx, "/v1/app/scale", map[string]any{"service": service, "replicas": replicas},
		fmt.Sprintf("%s scaled to %d", service, replicas))
}

// runRestart: restart SERVICE.
func runRestart(ctx context.Context, s *session, args []string) error {
	if len(args) != 1 {
		return usageErrorf("restart takes one service")
	}
	return s.operate(ctx, "/v1/app/restart", map[string]any{"service": args[0]}, args[0]+" restarted")
}

// runStop: stop INSTANCE.
func runStop(ctx context.Context, s *session, args []string) error {
	if len(args) != 1 {
		return usageErrorf("stop takes one instance, like orders-2")
	}
	return s.operate(ctx, "/v1/app/stop", map[string]any{"instance": args[0]}, args[0]+" stopped")
}

// operate posts body to path and prints done, or the answer as -o asks.
func (s *session) operate(ctx context.Context, path string, body map[string]any, done string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode the request to %s: %w", path, err)
	}
	doc, err := s.client.Do(ctx, http.MethodPost, path, nil, b, "application/json")
	if err != nil {
		return err
	}
	if s.output != "table" {
		return s.printDoc(doc)
	}
	_, err = fmt.Fprintln(s.stdout, done)
	return err
}
