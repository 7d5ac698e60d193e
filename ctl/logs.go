package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// setupLogs: logs NAME [-f] [--tail N].
func setupLogs(fs *flag.FlagSet) runFunc {
	var follow bool
	fs.BoolVar(&follow, "f", false, "follow: print each new line as it comes, until interrupted")
	fs.BoolVar(&follow, "follow", false, "same as -f")
	tail := fs.Int("tail", 100, "how many of the last lines of each process to print first, at most 10000")
	return func(ctx context.Context, s *session, args []string) error {
		switch {
		case len(args) != 1:
			return usageErrorf("logs takes one process, instance or service, like orders-1.sidecar, orders-1 or orders")
		case *tail < 0:
			return usageErrorf("--tail must not be negative")
		}
		q := url.Values{"tail": {strconv.Itoa(*tail)}}
		if follow {
			q.Set("follow", "true")
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.timeout)
			defer cancel()
		}
		return s.logs(ctx, "/v1/app/logs/"+url.PathEscape(args[0]), q, follow)
	}
}

// logs prints the log stream at path. ctx bounds it; following, it has
// no deadline, so the timeout bounds the opening of the stream alone.
func (s *session) logs(ctx context.Context, path string, q url.Values, follow bool) error {
	var body io.ReadCloser
	var err error
	if follow {
		body, err = s.openFollowed(ctx, path, q)
	} else {
		body, err = s.client.Stream(ctx, path, q)
	}
	if err != nil {
		return err
	}
	defer body.Close()
	err = s.printLogs(body)
	if follow && ctx.Err() != nil {
		return nil // interrupted, as following ends
	}
	return err
}

// openFollowed opens a stream that lasts as long as ctx, giving up when
// it does not open within the timeout.
func (s *session) openFollowed(ctx context.Context, path string, q url.Values) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(s.timeout, cancel)
	body, err := s.client.Stream(ctx, path, q)
	if !timer.Stop() {
		if err == nil {
			body.Close()
		}
		return nil, &UnreachableError{Server: s.client.Server, Err: context.DeadlineExceeded}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return cancelOnClose{body, cancel}, nil
}

// cancelOnClose is a stream whose Close also ends its context.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the stream and ends its context.
func (c cancelOnClose) Close() error {
	defer c.cancel()
	return c.ReadCloser.Close()
}

// printLogs prints each line of a log stream as it comes: "name | text",
// names aligned to the widest so far, or the lines as -o asks.
func (s *session) printLogs(body io.Reader) error {
	dec := json.NewDecoder(body)
	width := 0
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return &UnreachableError{Server: s.client.Server, Err: fmt.Errorf("read the log stream: %w", err)}
		}
		out, err := s.logLine(raw, &width)
		if err != nil {
			return err
		}
		if _, err := s.stdout.Write(out); err != nil {
			return err
		}
	}
}

// logLine renders one line of a log stream.
func (s *session) logLine(raw json.RawMessage, width *int) ([]byte, error) {
	switch s.output {
	case "json":
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, fmt.Errorf("read the log stream: %w", err)
		}
		return append(b.Bytes(), '\n'), nil
	case "yaml":
		y, err := toYAML(raw)
		return append([]byte("---\n"), y...), err
	}
	var l struct {
		Process string `json:"process"`
		Text    string `json:"text"`
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("read the log stream: %w", err)
	}
	*width = max(*width, len(l.Process))
	return fmt.Appendf(nil, "%-*s | %s\n", *width, l.Process, l.Text), nil
}
