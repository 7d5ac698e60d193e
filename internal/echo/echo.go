// Package echo is the small upstream used by the examples, the tests and
// the benchmark: it answers with what it received, so a user can see what
// pylon forwarded (path, headers, body), and it serves a health endpoint and
// a WebSocket echo.
package echo

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// Reply is the JSON body the echo handler answers with.
type Reply struct {
	Instance string              `json:"instance"`
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	Query    string              `json:"query,omitempty"`
	Host     string              `json:"host"`
	Headers  map[string][]string `json:"headers"`
	Body     string              `json:"body,omitempty"`
	BodySize int                 `json:"body_size"`
}

// Handler returns the echo handler of one named instance:
//
//	/healthz          200 "ok"
//	/ws               WebSocket echo (text and binary)
//	/status/{code}    answers with that status
//	/delay/{ms}       waits, then echoes
//	anything else     echoes the request as JSON
func Handler(instance string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/ws", wsEcho)
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 200 || code > 599 {
			http.Error(w, "bad status", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Instance", instance)
		w.WriteHeader(code)
	})
	mux.HandleFunc("/delay/{ms}", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.PathValue("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		reply(w, r, instance)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { reply(w, r, instance) })
	return mux
}

func reply(w http.ResponseWriter, r *http.Request, instance string) {
	body, _ := io.ReadAll(r.Body)
	rep := Reply{
		Instance: instance,
		Method:   r.Method,
		Path:     r.URL.EscapedPath(),
		Query:    r.URL.RawQuery,
		Host:     r.Host,
		Headers:  map[string][]string{},
		BodySize: len(body),
	}
	if len(body) <= 4096 {
		rep.Body = string(body)
	}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rep.Headers[k] = r.Header[k]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Instance", instance)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
}

// wsEcho echoes every WebSocket message back with its type.
func wsEcho(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(16 << 20)
	ctx := r.Context()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}
