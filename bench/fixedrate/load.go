package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Plan describes one open-loop run.
type Plan struct {
	Addr     string        // host:port to dial
	Request  []byte        // complete HTTP/1.1 request, sent as is
	Interval time.Duration // time between due times of consecutive requests
	Duration time.Duration // requests are due in [start, start+Duration)
	Conns    int           // keep-alive connections, one goroutine each
	Timeout  time.Duration // bound on one request, dial included
}

// count is the number of requests the plan schedules.
func (p Plan) count() int64 {
	return int64((p.Duration + p.Interval - 1) / p.Interval)
}

// RequestBytes returns a keep-alive GET request for u.
func RequestBytes(u *url.URL) []byte {
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fixedrate\r\n\r\n", u.RequestURI(), u.Host)
}

// Load runs p and summarizes the latencies, each measured from the
// request's due time. It returns the last request error only if no
// request succeeded.
func Load(p Plan) (Summary, error) {
	sched := &schedule{start: time.Now(), interval: p.Interval, n: p.count()}
	results := make([]workerResult, p.Conns)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = (&worker{plan: p}).run(sched) })
	}
	wg.Wait()
	var lat []time.Duration
	errs := 0
	var lastErr error
	for _, r := range results {
		lat = append(lat, r.lat...)
		errs += r.errors
		if r.lastErr != nil {
			lastErr = r.lastErr
		}
	}
	if len(lat) > 0 {
		lastErr = nil
	}
	return Summarize(lat, errs), lastErr
}

// schedule hands out due times; it is shared by all workers.
type schedule struct {
	start    time.Time
	interval time.Duration
	n        int64
	next     atomic.Int64
}

// take returns the due time of the next request, or false when all
// requests have been handed out.
func (s *schedule) take() (time.Time, bool) {
	i := s.next.Add(1) - 1
	if i >= s.n {
		return time.Time{}, false
	}
	return s.start.Add(time.Duration(i) * s.interval), true
}

// workerResult is what one connection measured.
type workerResult struct {
	lat     []time.Duration
	errors  int
	lastErr error
}

// worker sends requests over one keep-alive connection, redialing after
// an error.
type worker struct {
	plan Plan
	conn net.Conn
	br   *bufio.Reader
}

func (w *worker) run(s *schedule) workerResult {
	var res workerResult
	defer w.close()
	for {
		due, ok := s.take()
		if !ok {
			return res
		}
		start := sendAt(due)
		if err := w.roundTrip(); err != nil {
			res.errors++
			res.lastErr = err
			w.close()
			continue
		}
		res.lat = append(res.lat, time.Since(start))
	}
}

// sendAt waits until due and returns the time latency is measured from.
// A request taken after its due time (every connection was busy waiting
// for the server) is measured from due, so the server is charged for the
// queueing it caused. A request taken early is measured from when the
// sleep returns: the timer wakes up to a millisecond late on Linux, and
// that lateness is the client's, not the server's.
func sendAt(due time.Time) time.Time {
	wait := time.Until(due)
	if wait <= 0 {
		return due
	}
	time.Sleep(wait)
	return time.Now()
}

// roundTrip sends the request and reads the whole response.
func (w *worker) roundTrip() error {
	if w.conn == nil {
		c, err := net.DialTimeout("tcp", w.plan.Addr, w.plan.Timeout)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		w.conn, w.br = c, bufio.NewReader(c)
	}
	if err := w.conn.SetDeadline(time.Now().Add(w.plan.Timeout)); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	if _, err := w.conn.Write(w.plan.Request); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("check response: status %d", resp.StatusCode)
	}
	if resp.Close {
		w.close()
	}
	return nil
}

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.br = nil, nil
	}
}
