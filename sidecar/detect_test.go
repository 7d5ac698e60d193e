package sidecar

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		name  string
		send  string
		close bool // the app closes after sending
		want  int
	}{
		{"http1 GET", "GET /items?id=1 HTTP/1.1\r\nHost: catalog\r\n\r\n", false, kindHTTP},
		{"http1 POST absolute-form", "POST http://catalog/items HTTP/1.1\r\n", false, kindHTTP},
		{"OPTIONS asterisk", "OPTIONS * HTTP/1.1\r\n", false, kindHTTP},
		{"h2 prior knowledge", h2Preface + "\x00\x00\x00\x04\x00\x00\x00\x00\x00", false, kindHTTP},
		{"redis RESP", "*1\r\n$4\r\nPING\r\n", false, kindTCP},
		{"redis inline GET", "GET key\r\n", false, kindTCP},
		{"TLS client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", false, kindTCP},
		{"lowercase method", "get / HTTP/1.1\r\n", false, kindTCP},
		{"partial start then silence", "GE", false, kindTCP},
		{"silence: a server-first protocol", "", false, kindTCP},
		{"start then close", "GET /", true, kindHTTP},
		{"partial preface then close", "PRI * HTTP/2", true, kindTCP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app, side := net.Pipe()
			defer app.Close()
			go func() {
				io.WriteString(app, c.send)
				if c.close {
					app.Close()
				}
			}()
			rc, kind, err := detect(side, 50*time.Millisecond)
			if err != nil {
				t.Fatalf("detect: %v", err)
			}
			if kind != c.want {
				t.Errorf("got kind %d, want %d", kind, c.want)
			}
			// Whatever detection read is replayed before the rest.
			rc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			got, _ := io.ReadAll(rc)
			if !bytes.Equal(got, []byte(c.send)) {
				t.Errorf("replayed %q, want %q", got, c.send)
			}
		})
	}
}

func TestDetectClosedBeforeAByte(t *testing.T) {
	app, side := net.Pipe()
	app.Close()
	if _, _, err := detect(side, time.Second); err == nil {
		t.Error("a connection closed before its first byte was handed on")
	}
}

// FuzzClassify checks that classify is consistent: once it decides, more
// bytes never change its mind, and it decides HTTP only on a known start.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"GET / HTTP/1.1\r\n", h2Preface, "*1\r\n$4\r\nPING\r\n", "GET key", "OPTIONS *", "\x16\x03\x01"} {
		f.Add([]byte(s), []byte("x"))
	}
	f.Fuzz(func(t *testing.T, b, more []byte) {
		kind, undecided := classify(b)
		if undecided {
			return
		}
		if kind == kindHTTP && !startsHTTP(b) {
			t.Fatalf("classify(%q) said HTTP without a known start", b)
		}
		if k2, u2 := classify(append(b[:len(b):len(b)], more...)); u2 || k2 != kind {
			t.Fatalf("classify(%q) = %d, but with %q appended = %d (undecided %v)", b, kind, more, k2, u2)
		}
	})
}

func startsHTTP(b []byte) bool {
	for _, s := range httpStarts {
		if bytes.HasPrefix(b, s) {
			return true
		}
	}
	return false
}
