package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A shutdown whose drain deadline passes cuts off a request still waiting
// on its upstream: here one that sent its head and part of its body and
// then fell silent, with the connection open. Before, the request held the
// shutdown (and the process) until the listener's idle timeout. Served on
// an event loop, with the loops off on a goroutine, and for an HTTP/2
// client.
func TestShutdownCutsOffASilentUpstream(t *testing.T) {
	for _, mode := range []string{"loop", "goroutine", "h2c"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "goroutine" {
				t.Setenv(eventLoopsOff, "off")
			}
			up := silentUpstream(t)
			srv, addr := startLoopServer(t, testListener(t, "web", testService(t, up)))
			body := startStalledRequest(t, addr, mode == "h2c")
			defer body.Close()

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			shut := make(chan error, 1)
			go func() { shut <- srv.Shutdown(ctx) }()
			select {
			case err := <-shut:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Shutdown: %v, want the drain deadline's error", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("Shutdown did not return within 3 s of a 200 ms drain deadline")
			}
			if _, err := io.ReadAll(body); err == nil {
				t.Fatal("the cut-off body read to a clean end, want an error")
			}
		})
	}
}

// startStalledRequest sends GET /stall to the gateway at addr over
// HTTP/1.1 or h2c, reads the response head and the 5 bytes the upstream
// sends, and returns the rest of the body.
func startStalledRequest(t *testing.T, addr string, h2c bool) io.ReadCloser {
	t.Helper()
	var resp *http.Response
	if h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: &p}
		t.Cleanup(tr.CloseIdleConnections)
		var err error
		resp, err = (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + addr + "/stall")
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("the client spoke %s, want HTTP/2", resp.Proto)
		}
	} else {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /stall HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err = http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("reading the response head: %v", err)
		}
	}
	first := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "hello" {
		t.Fatalf("the body's first bytes: %q, %v", first, err)
	}
	return resp.Body
}

// silentUpstream answers every connection's first request with a head
// announcing 100 bytes, sends 5 of them and then nothing, keeping the
// connection open until the test ends.
func silentUpstream(t *testing.T) string {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return serveRawConns(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
		<-done
	})
}

// A connection lingering after a refused upload (pylon reads and drops
// what the client still sends, so the client gets its 413) does not hold
// up a shutdown: with the client still sending and with it silent, the
// server drains within its deadline instead of waiting out the linger.
func TestShutdownEndsALingeringConnection(t *testing.T) {
	for _, mode := range []string{"loop", "goroutine"} {
		for _, client := range []string{"sending", "silent"} {
			t.Run(mode+"/"+client, func(t *testing.T) {
				if mode == "goroutine" {
					t.Setenv(eventLoopsOff, "off")
				}
				srv, addr := startLoopServer(t, testListener(t, "web", testService(t, silentUpstream(t))))
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					t.Fatalf("a 100 MiB upload over a 1 MiB limit got %d, want 413", resp.StatusCode)
				}
				stop := make(chan struct{})
				defer close(stop)
				if client == "sending" {
					go func() {
						for {
							select {
							case <-stop:
								return
							case <-time.After(20 * time.Millisecond):
								if _, err := c.Write(make([]byte, 1024)); err != nil {
									return
								}
							}
						}
					}()
				}
				time.Sleep(100 * time.Millisecond) // into the linger
				// A deadline shorter than the linger's idle wait.
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := srv.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v, want the lingering connection closed before the drain deadline", err)
				}
			})
		}
	}
}
