package h2server

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzServeConn feeds a connection arbitrary frames after a valid preface
// and checks that the server neither panics nor hangs: whatever the bytes,
// ServeConn returns once the client side is closed, and every handler has
// returned by then.
func FuzzServeConn(f *testing.F) {
	var enc bytes.Buffer
	henc := hpack.NewEncoder(&enc)
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/p"}, {"content-length", "3"}} {
		henc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc.Bytes(), EndHeaders: true})
	fr.WriteData(1, true, []byte("abc"))
	fr.WriteWindowUpdate(0, 100)
	fr.WritePing(false, [8]byte{1})
	fr.WriteRSTStream(3, http2.ErrCodeCancel)
	f.Add(seed.Bytes())
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})                         // SETTINGS
	f.Add([]byte{0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}) // GOAWAY
	f.Add([]byte{0, 0, 1, 1, 5, 0, 0, 0, 1, 0x82})                   // HEADERS :method GET only
	// A header block over the fuzz server's 1 KiB limit, then its body
	// (a new encoder: the server's decoder starts with an empty table;
	// several fields, since one longer than the limit is a connection
	// error in x/net's decoder).
	enc.Reset()
	henc = hpack.NewEncoder(&enc)
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/p"}, {"x-a", string(bytes.Repeat([]byte("v"), 400))}, {"x-b", string(bytes.Repeat([]byte("w"), 400))}, {"x-c", string(bytes.Repeat([]byte("x"), 400))}} {
		henc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	seed.Reset()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc.Bytes(), EndHeaders: true})
	fr.WriteData(1, true, []byte("abc"))
	f.Add(seed.Bytes())

	f.Fuzz(func(t *testing.T, frames []byte) {
		handlers := make(chan struct{}, 64)
		echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers <- struct{}{}
			io.Copy(w, r.Body)
			<-handlers
		})
		s := New(Config{Handler: echo, TooLarge: echo, MaxHeaderListSize: 1 << 10})
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			s.ServeConn(server)
			close(done)
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(client, http2.ClientPreface)
		http2.NewFramer(client, nil).WriteSettings()
		client.Write(frames)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ServeConn did not return after the client closed")
		}
		if n := len(handlers); n != 0 {
			t.Fatalf("%d handlers still running after ServeConn returned", n)
		}
	})
}
