// Command upstream is the example service pylon routes to: it echoes each
// request back as JSON (see internal/echo).
//
//	go run ./examples/upstream -addr 127.0.0.1:9001 -name orders-1
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/pylon-mesh/pylon/internal/echo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	name := flag.String("name", "orders-1", "instance name shown in replies")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: echo.Handler(*name), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("upstream %s listening on http://%s", *name, *addr)
	log.Fatal(srv.ListenAndServe())
}
