package serve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestDrain cancels the context while a request is in flight: the server
// stops accepting, the request still completes, and Listener returns nil
// once it has.
func TestDrain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		if err := r.Context().Err(); err != nil {
			t.Errorf("got the request's context done (%v) during the drain, want it live", err)
		}
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Listener(ctx, ln, h, slog.New(slog.DiscardHandler)) }()

	type answer struct {
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		answered <- answer{string(b), err}
	}()
	<-entered
	cancel()
	// Release the request only once the server has stopped accepting, so
	// it is in flight during the shutdown.
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	if a := <-answered; a.err != nil || a.body != "done" {
		t.Errorf("got body %q and error %v from the in-flight request, want \"done\" and nil", a.body, a.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Listener: got %v, want nil after draining", err)
	}
}
