// Command echo is the mesh benchmark's app: it answers every HTTP/1.1
// request with 64 bytes of "x" until it is killed. The benchmark runs it as
// a process of its own, as an app beside its sidecar is in a real
// deployment, so the direct call it is compared with crosses processes
// too.
//
//	echo 127.0.0.1:9001
package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: echo ADDRESS")
		os.Exit(2)
	}
	body := bytes.Repeat([]byte("x"), 64)
	srv := &http.Server{Addr: os.Args[1], ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Content-Type"] = []string{"text/plain"}
			w.Write(body)
		})}
	fmt.Fprintln(os.Stderr, "echo:", srv.ListenAndServe())
	os.Exit(1)
}
