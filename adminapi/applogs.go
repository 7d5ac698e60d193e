package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Bounds of GET /v1/app/logs/{name}'s tail parameter.
const (
	DefaultLogTail = 100
	MaxLogTail     = 10000
)

// logs streams a process's output as newline-delimited JSON, one LogLine
// per line: the last tail lines and, with follow, the later ones until the
// client leaves. Each line is flushed once no other is waiting.
func (a *api) logs(w http.ResponseWriter, r *http.Request) {
	tail, follow, err := logQuery(r)
	if err != nil {
		fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel() // the App stops sending when the stream ends early
	lines, err := a.App.Logs(ctx, r.PathValue("name"), tail, follow)
	if err != nil {
		failApp(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush() // the client knows the stream is open before a line comes
	enc := json.NewEncoder(w)
	for {
		select {
		case <-ctx.Done():
			return
		case l, ok := <-lines:
			if !ok {
				return
			}
			if enc.Encode(l) != nil {
				return
			}
			if len(lines) == 0 && rc.Flush() != nil {
				return
			}
		}
	}
}

// logQuery reads ?tail=N (default DefaultLogTail, at most MaxLogTail) and
// ?follow=true|false.
func logQuery(r *http.Request) (tail int, follow bool, err error) {
	q := r.URL.Query()
	tail = DefaultLogTail
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxLogTail {
			return 0, false, fmt.Errorf("tail must be a number of lines from 0 to %d, not %q", MaxLogTail, v)
		}
		tail = n
	}
	if v := q.Get("follow"); v != "" {
		follow, err = strconv.ParseBool(v)
		if err != nil {
			return 0, false, fmt.Errorf("follow must be true or false, not %q", v)
		}
	}
	return tail, follow, nil
}
