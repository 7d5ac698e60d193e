// Command upstream is the example service pylon routes to: it echoes each
// request back as JSON (see internal/echo). GET /healthz answers 200 until
// a POST to /healthz/down, then 503: a way to watch what a failing health
// check does (pylon up replaces the instance).
//
//	go run ./examples/upstream -addr 127.0.0.1:9001 -name orders-1
package main

import (
	"flag"
	"log"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/internal/echo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	name := flag.String("name", "orders-1", "instance name shown in replies")
	flag.Parse()
	var down atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/", echo.Handler(*name))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down, as asked", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("POST /healthz/down", func(w http.ResponseWriter, r *http.Request) {
		down.Store(true)
		log.Printf("upstream %s: /healthz answers 503 from now on", *name)
		w.Write([]byte(*name + " is unhealthy from now on\n"))
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("upstream %s listening on http://%s", *name, *addr)
	log.Fatal(srv.ListenAndServe())
}
