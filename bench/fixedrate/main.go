// Command fixedrate is an open-loop HTTP/1.1 load generator for the Pylon
// benchmark (bench/run.sh). It sends requests at a fixed rate over N
// keep-alive connections and prints latency percentiles.
//
// Request i is due at start + i/rate. A free connection takes the next
// due request, waits until it is due, sends it and reads the whole
// response. When every connection is busy, requests fall behind their due
// times; their latency then runs from the due time, not the send time, so
// a stalled server is charged for the requests that queued behind it (no
// coordinated omission). A request that was waited for is measured from
// the moment the client's timer woke, so the client's own timer lateness
// (up to a millisecond on Linux) is not charged to the server. The load
// generator is package bench/internal/loadgen; any 2xx response counts as
// a success.
//
// The output is one line of key=value pairs:
//
//	requests=10000 errors=0 p50_us=85.2 p99_us=190.4 p999_us=410.0 max_us=900.3
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/pylon-mesh/pylon/bench/internal/loadgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fixedrate:", err)
		os.Exit(1)
	}
}

// run parses args, generates the load and writes the summary to w.
func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("fixedrate", flag.ContinueOnError)
	target := fs.String("url", "http://127.0.0.1:8080/", "http:// URL to request")
	rate := fs.Float64("rate", 1000, "requests per second")
	duration := fs.Duration("duration", 10*time.Second, "how long to schedule requests for")
	conns := fs.Int("conns", 16, "keep-alive connections")
	timeout := fs.Duration("timeout", 5*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("parse -url %q: want http://host:port/path", *target)
	}
	if *rate <= 0 || *conns <= 0 || *duration <= 0 {
		return fmt.Errorf("check flags: -rate, -conns and -duration must be positive")
	}
	c := loadgen.New(loadgen.Config{
		Addr:    u.Host,
		Request: loadgen.GetRequest(u.Host, u.RequestURI(), "fixedrate"),
		Conns:   *conns,
		Timeout: *timeout,
	})
	defer c.Close()
	lat, errs, err := c.Run(context.Background(), time.Duration(float64(time.Second) / *rate), *duration)
	if len(lat) == 0 && err != nil {
		return fmt.Errorf("generate load against %s: %w", u.Host, err)
	}
	_, err = fmt.Fprintln(w, format(loadgen.Summarize(lat, errs)))
	return err
}

// format writes s as the command's one line of key=value pairs.
func format(s loadgen.Summary) string {
	return fmt.Sprintf("requests=%d errors=%d p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f",
		s.Requests, s.Errors, micros(s.P50), micros(s.P99), micros(s.P999), micros(s.Max))
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
