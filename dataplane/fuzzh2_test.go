package dataplane

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// hostileH2Upstream is an HTTP/2 (h2c) server that, on each connection,
// reads the client's preface and first request, sends its own SETTINGS
// and an ACK, then the raw frame bytes it was given (set), and closes. It
// counts the connections it accepted.
type hostileH2Upstream struct {
	ln     net.Listener
	conns  atomic.Int64
	mu     sync.Mutex
	frames []byte
}

func newHostileH2Upstream(tb testing.TB) *hostileH2Upstream {
	u := &hostileH2Upstream{}
	u.ln = serveEach(tb, u.serve)
	return u
}

func (u *hostileH2Upstream) serve(c net.Conn) {
	u.conns.Add(1)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(br, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	fr := http2.NewFramer(c, br)
	fr.WriteSettings()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			fr.WriteSettingsAck()
		}
		if h, ok := f.(*http2.HeadersFrame); ok && h.StreamID == 1 {
			break
		}
	}
	u.mu.Lock()
	out := u.frames
	u.mu.Unlock()
	c.Write(out)
	// Let the frames reach the proxy before the close does.
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, br)
}

func (u *hostileH2Upstream) set(b []byte) {
	u.mu.Lock()
	u.frames = b
	u.mu.Unlock()
}

// h2Frames builds a seed: the frames write writes, with block encoding
// header fields (name, value, name, value ...).
func h2Frames(write func(fr *http2.Framer, block func(...string) []byte)) []byte {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	block := func(kv ...string) []byte {
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for i := 0; i+1 < len(kv); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return hb.Bytes()
	}
	write(fr, block)
	return b.Bytes()
}

// FuzzH2UpstreamResponses is FuzzForwardedResponsesAreWellFormed for an
// HTTP/2 upstream: the upstream answers stream 1 with arbitrary frames
// (after a valid SETTINGS exchange), and the HTTP/1.1 client must get one
// well-formed final response, or an error response, and nothing after
// it, whatever the frames say.
func FuzzH2UpstreamResponses(f *testing.F) {
	for _, seed := range [][]byte{
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200", "content-length", "2"), EndHeaders: true})
			fr.WriteData(1, true, []byte("ok"))
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200"), EndHeaders: true})
			fr.WriteData(1, false, []byte("part"))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("grpc-status", "0"), EndHeaders: true, EndStream: true})
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "103", "link", "</a>"), EndHeaders: true})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "204"), EndHeaders: true, EndStream: true})
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			b := block(":status", "200", "x-long", "0123456789abcdef")
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:4]})
			fr.WriteContinuation(1, true, b[4:])
			fr.WriteData(1, true, nil)
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200", "connection", "close", "transfer-encoding", "chunked", "Upper", "x"), EndHeaders: true})
			fr.WriteData(1, true, []byte("x"))
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200", "content-length", "10"), EndHeaders: true})
			fr.WriteData(1, true, []byte("short"))
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200"), EndHeaders: true})
			fr.WriteRSTStream(1, http2.ErrCodeInternal)
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "99x", ":path", "/"), EndHeaders: true, EndStream: true})
		}),
		// A status no client could be given: net/http's HTTP/2 transport
		// takes any integer (found by this fuzzer: pylon relayed
		// "HTTP/1.1 -21").
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "-21"), EndHeaders: true, EndStream: true})
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "1000"), EndHeaders: true, EndStream: true})
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200", "x-a", "1\r\nX-Injected: 2"), EndHeaders: true, EndStream: true})
		}),
	} {
		f.Add(seed)
	}
	up := newHostileH2Upstream(f)
	gw := startBenchGatewayWith(f, up.ln.Addr().String(), ", timeout: 2s, retries: { attempts: 0 }", ", protocol: h2c", "")
	f.Fuzz(func(t *testing.T, frames []byte) {
		up.set(frames)
		got := clientExchange(t, gw, "GET /f HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", frames)
		if err := wellFormedResponse(got); err != nil {
			t.Fatalf("%v\nupstream frames: %q\nclient got: %q", err, frames, got)
		}
	})
}

// FuzzH2ClientRequestsForwardedWellFormed is FuzzForwardedRequestsAreWellFormed
// for HTTP/2 clients: arbitrary frames after a valid preface and SETTINGS,
// and every byte pylon forwards to the HTTP/1.1 upstream must parse as
// complete requests (HPACK can carry any byte, so a CR or LF let through
// into an HTTP/1.1 head would split it).
func FuzzH2ClientRequestsForwardedWellFormed(f *testing.F) {
	get := []string{":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/p"}
	for _, seed := range [][]byte{
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(get...), EndHeaders: true, EndStream: true})
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/p", "content-length", "3", "x-a", "1"), EndHeaders: true})
			fr.WriteData(1, true, []byte("abc"))
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/p"), EndHeaders: true})
			fr.WriteData(1, false, []byte("ab"))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("x-trailer", "t"), EndHeaders: true, EndStream: true})
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(append(get, "x-a", "1\r\nX-Injected: 2", "cookie", "a=1", "cookie", "b=2")...), EndHeaders: true, EndStream: true})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block(":method", "GET", ":scheme", "http", ":authority", "a b", ":path", "/p%zz"), EndHeaders: true, EndStream: true})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: block(":method", "G T", ":scheme", "http", ":authority", "a", ":path", "/p", "transfer-encoding", "chunked"), EndHeaders: true, EndStream: true})
		}),
		h2Frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/p", "content-length", "10"), EndHeaders: true})
			fr.WriteData(1, true, []byte("short"))
		}),
	} {
		f.Add(seed)
	}
	up := newRecorder(f)
	gw := startBenchGatewayWith(f, up.ln.Addr().String(), ", timeout: 2s", "", "")
	f.Fuzz(func(t *testing.T, frames []byte) {
		c, err := net.Dial("tcp", gw)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, http2.ClientPreface)
		http2.NewFramer(c, nil).WriteSettings()
		c.Write(frames)
		// Read what pylon answers for a moment, then leave: streams still
		// open are cut, which an upstream reads as a request cut short.
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		io.Copy(io.Discard, c)
		c.Close()
		time.Sleep(20 * time.Millisecond)
		for i, b := range up.forwarded() {
			if err := wellFormed(b); err != nil {
				t.Fatalf("upstream connection %d: %v\nclient frames: %q\nforwarded: %q", i, err, frames, b)
			}
		}
	})
}
