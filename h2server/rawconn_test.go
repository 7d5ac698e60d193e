package h2server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// This file is the conformance kit's frame-level HTTP/2 client: a real TCP
// connection driven frame by frame with http2.Framer and hpack, so checks
// can send exactly the frames they mean (including malformed ones) and see
// every frame the server sends back.
//
// While it reads, rawClient also checks what RFC 9113 requires of every
// server frame, whatever the check: no frame larger than the 16384-byte
// SETTINGS_MAX_FRAME_SIZE the client never raises, no DATA beyond the
// flow-control windows the client granted, no PUSH_PROMISE after the client
// disabled push.

// clientMaxFrameSize is SETTINGS_MAX_FRAME_SIZE's initial value; rawClient
// never advertises more, so the server may never send a larger frame, and
// rawClient never sends one either.
const clientMaxFrameSize = 16384

// rawClient is the client side of one HTTP/2 connection, driven frame by frame.
// Only the test goroutine reads; writes are serialised by wmu so a check may
// write from a second goroutine (see writeBlock).
type rawClient struct {
	t         *testing.T
	conn      net.Conn
	fr        *http2.Framer
	authority string // host:port of the server, for :authority

	wmu    sync.Mutex // guards fr's write side, enc and encBuf
	enc    *hpack.Encoder
	encBuf bytes.Buffer

	// autoWindow makes the client give back flow-control credit for every
	// DATA frame as it arrives, like a client whose application reads
	// promptly. Flow-control checks turn it off and grant credit by hand.
	autoWindow bool

	peerSettings map[http2.SettingID]uint32 // the server's SETTINGS
	streams      map[uint32]*clientStream
	goAway       *clientGoAway // the last GOAWAY the server sent
	readErr      error         // why reading stopped: the connection closed

	// Flow-control accounting of what the server may still send. Raises of
	// SETTINGS_INITIAL_WINDOW_SIZE count from when they are sent, lowerings
	// from their ACK, so a frame the server sent under either value passes.
	initialWindow int64   // per-stream initial window the server may use
	connWindow    int64   // connection window the server may use
	pendingIWS    []int64 // INITIAL_WINDOW_SIZE of each unacked SETTINGS, or -1

	pingAcks map[[8]byte]bool
	pingSeq  uint64
}

// clientStream is everything the server sent on one stream.
type clientStream struct {
	id        uint32
	interim   [][]hpack.HeaderField // 1xx responses, in order
	header    []hpack.HeaderField   // the final response's header section
	status    int                   // its :status
	body      bytes.Buffer          // DATA payloads
	dataSizes []int                 // length of each DATA frame's payload
	trailer   []hpack.HeaderField   // a header section after the final header
	endStream bool                  // END_STREAM seen
	endedBy   string                // "HEADERS" or "DATA": the frame that carried END_STREAM
	rst       bool                  // RST_STREAM seen
	rstCode   http2.ErrCode
	window    int64    // what the server may still send on this stream
	events    []string // one line per frame, for failure messages
}

type clientGoAway struct {
	lastStreamID uint32
	code         http2.ErrCode
	debug        string
}

func (s *clientStream) done() bool { return s.endStream || s.rst }

// String lists the frames the server sent on the stream, for failure messages.
func (s *clientStream) String() string {
	if len(s.events) == 0 {
		return fmt.Sprintf("stream %d: no frames", s.id)
	}
	return fmt.Sprintf("stream %d: %s", s.id, strings.Join(s.events, ", "))
}

// fieldValue returns the value of the first field called name in fields.
func fieldValue(fields []hpack.HeaderField, name string) (string, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// dialRaw connects to addr, sends the client preface and a SETTINGS frame
// with ENABLE_PUSH=0 and settings, and returns once the server's SETTINGS
// has arrived (and been acknowledged) and the server has acknowledged the
// client's. The connection is closed when t ends.
func dialRaw(t *testing.T, addr string, settings ...http2.Setting) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, kitTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawClient{
		t:             t,
		conn:          c,
		fr:            http2.NewFramer(c, c),
		authority:     addr,
		autoWindow:    true,
		peerSettings:  map[http2.SettingID]uint32{},
		streams:       map[uint32]*clientStream{},
		initialWindow: 65535,
		connWindow:    65535,
		pingAcks:      map[[8]byte]bool{},
	}
	rc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	rc.enc = hpack.NewEncoder(&rc.encBuf)
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatalf("writing the client preface: %v", err)
	}
	rc.writeSettings(append([]http2.Setting{{ID: http2.SettingEnablePush, Val: 0}}, settings...)...)

	f, err := rc.readFrame()
	if err != nil {
		t.Fatalf("connection closed before the server's preface: %v", err)
	}
	if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
		t.Fatalf("the server's preface must start with a SETTINGS frame (RFC 9113 3.4), got %v", f)
	}
	rc.syncSettings()
	return rc
}

// readFrame reads the next frame and records what it means (see note). It
// returns an error only when the connection is closed; a server that sends
// nothing for kitTimeout, or sends a frame the client cannot accept, fails t.
func (rc *rawClient) readFrame() (http2.Frame, error) {
	rc.t.Helper()
	if rc.readErr != nil {
		return nil, rc.readErr
	}
	rc.conn.SetReadDeadline(time.Now().Add(kitTimeout))
	f, err := rc.fr.ReadFrame()
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			rc.t.Fatalf("the server sent nothing for %v (streams so far: %s)", kitTimeout, rc.describe())
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, new(*net.OpError)):
			rc.readErr = err
			return nil, err
		default:
			rc.t.Fatalf("the server sent a frame the client must reject: %v", err)
		}
	}
	rc.note(f)
	return f, nil
}

// note updates the connection's state for a frame from the server and does
// what the protocol requires of the client at once: acknowledging SETTINGS
// and PING, and (with autoWindow) returning flow-control credit.
func (rc *rawClient) note(f http2.Frame) {
	rc.t.Helper()
	if n := f.Header().Length; n > clientMaxFrameSize {
		rc.t.Errorf("the server sent a %d-byte %s frame, over the client's SETTINGS_MAX_FRAME_SIZE of %d", n, f.Header().Type, clientMaxFrameSize)
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			if len(rc.pendingIWS) == 0 {
				rc.t.Errorf("the server acknowledged a SETTINGS frame the client never sent")
				return
			}
			if v := rc.pendingIWS[0]; v >= 0 && v < rc.initialWindow {
				rc.adjustStreamWindows(v - rc.initialWindow)
				rc.initialWindow = v
			}
			rc.pendingIWS = rc.pendingIWS[1:]
			return
		}
		f.ForeachSetting(func(s http2.Setting) error {
			rc.peerSettings[s.ID] = s.Val
			return nil
		})
		rc.locked(func() error { return rc.fr.WriteSettingsAck() })
	case *http2.PingFrame:
		if f.IsAck() {
			rc.pingAcks[f.Data] = true
			return
		}
		rc.locked(func() error { return rc.fr.WritePing(true, f.Data) })
	case *http2.GoAwayFrame:
		rc.goAway = &clientGoAway{lastStreamID: f.LastStreamID, code: f.ErrCode, debug: string(f.DebugData())}
	case *http2.RSTStreamFrame:
		st := rc.stream(f.StreamID)
		st.rst, st.rstCode = true, f.ErrCode
		st.events = append(st.events, "RST_STREAM "+f.ErrCode.String())
	case *http2.MetaHeadersFrame:
		rc.noteHeaders(f)
	case *http2.DataFrame:
		rc.noteData(f)
	case *http2.PushPromiseFrame:
		rc.t.Errorf("the server sent PUSH_PROMISE although the client set SETTINGS_ENABLE_PUSH=0")
	}
}

func (rc *rawClient) noteHeaders(f *http2.MetaHeadersFrame) {
	rc.t.Helper()
	st := rc.stream(f.StreamID)
	fields := append([]hpack.HeaderField(nil), f.Fields...)
	ev := "HEADERS"
	switch {
	case st.header == nil:
		code, err := strconv.Atoi(f.PseudoValue("status"))
		if err != nil {
			rc.t.Errorf("stream %d: response HEADERS without a valid :status: %v", f.StreamID, f.Fields)
			return
		}
		ev += " :status=" + strconv.Itoa(code)
		if code >= 100 && code < 200 {
			st.interim = append(st.interim, fields)
			if f.StreamEnded() {
				rc.t.Errorf("stream %d: a %d (informational) response carried END_STREAM", f.StreamID, code)
			}
		} else {
			st.header, st.status = fields, code
		}
	default:
		st.trailer = fields
		ev += " (trailers)"
		if !f.StreamEnded() {
			rc.t.Errorf("stream %d: a trailer section without END_STREAM (RFC 9113 8.1)", f.StreamID)
		}
	}
	if f.StreamEnded() {
		st.endStream, st.endedBy = true, "HEADERS"
		ev += " END_STREAM"
	}
	st.events = append(st.events, ev)
}

func (rc *rawClient) noteData(f *http2.DataFrame) {
	rc.t.Helper()
	st := rc.stream(f.StreamID)
	n := int64(f.Length) // padding counts against flow control too
	rc.connWindow -= n
	st.window -= n
	if rc.connWindow < 0 {
		rc.t.Errorf("stream %d: the server overran the connection flow-control window by %d bytes", f.StreamID, -rc.connWindow)
	}
	if st.window < 0 {
		rc.t.Errorf("stream %d: the server overran the stream flow-control window by %d bytes", f.StreamID, -st.window)
	}
	if st.header == nil {
		rc.t.Errorf("stream %d: DATA before the response's HEADERS", f.StreamID)
	}
	st.body.Write(f.Data())
	st.dataSizes = append(st.dataSizes, len(f.Data()))
	ev := fmt.Sprintf("DATA len=%d", len(f.Data()))
	if f.StreamEnded() {
		st.endStream, st.endedBy = true, "DATA"
		ev += " END_STREAM"
	}
	st.events = append(st.events, ev)
	if rc.autoWindow && n > 0 {
		rc.windowUpdate(0, uint32(n))
		if !f.StreamEnded() {
			rc.windowUpdate(f.StreamID, uint32(n))
		}
	}
}

// stream returns the state of stream id, creating it if needed.
func (rc *rawClient) stream(id uint32) *clientStream {
	st, ok := rc.streams[id]
	if !ok {
		st = &clientStream{id: id, window: rc.initialWindow}
		rc.streams[id] = st
	}
	return st
}

func (rc *rawClient) adjustStreamWindows(delta int64) {
	for _, st := range rc.streams {
		st.window += delta
	}
}

// describe summarises every stream, for failure messages.
func (rc *rawClient) describe() string {
	var parts []string
	for _, st := range rc.streams {
		parts = append(parts, st.String())
	}
	if rc.goAway != nil {
		parts = append(parts, fmt.Sprintf("GOAWAY %v last_stream_id=%d %q", rc.goAway.code, rc.goAway.lastStreamID, rc.goAway.debug))
	}
	if rc.readErr != nil {
		parts = append(parts, "connection closed: "+rc.readErr.Error())
	}
	return strings.Join(parts, "; ")
}

// readUntil reads frames until cond holds, failing t if the connection
// closes first.
func (rc *rawClient) readUntil(what string, cond func() bool) {
	rc.t.Helper()
	for !cond() {
		if _, err := rc.readFrame(); err != nil {
			rc.t.Fatalf("connection closed while waiting for %s: %v (%s)", what, err, rc.describe())
		}
	}
}

// waitStream reads frames until stream id ends (END_STREAM or RST_STREAM),
// the server gives up on it (a GOAWAY with an error, or one whose last
// stream ID is below id), or the connection closes. It returns the stream.
func (rc *rawClient) waitStream(id uint32) *clientStream {
	rc.t.Helper()
	st := rc.stream(id)
	for !st.done() && !rc.abandoned(id) {
		if _, err := rc.readFrame(); err != nil {
			break
		}
	}
	return st
}

// abandoned reports whether the server has said it will not complete stream id.
func (rc *rawClient) abandoned(id uint32) bool {
	return rc.goAway != nil && (rc.goAway.code != http2.ErrCodeNo || rc.goAway.lastStreamID < id)
}

// alive reports whether new streams may still be opened on the connection.
func (rc *rawClient) alive() bool { return rc.readErr == nil && rc.goAway == nil }

// sync sends a PING and reads until its ACK. Everything the server wrote
// before handling the PING has then been seen, which lets a check assert
// that something was not sent without waiting for a timeout.
func (rc *rawClient) sync() {
	rc.t.Helper()
	rc.pingSeq++
	var data [8]byte
	binary.BigEndian.PutUint64(data[:], rc.pingSeq)
	rc.write("PING", func() error { return rc.fr.WritePing(false, data) })
	rc.readUntil("the PING's ACK", func() bool { return rc.pingAcks[data] })
}

// locked runs a write under wmu, ignoring errors: it is for the client's
// automatic replies, which may race with the server closing the connection.
func (rc *rawClient) locked(fn func() error) {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	fn()
}

// write runs a write under wmu and fails t if it fails.
func (rc *rawClient) write(what string, fn func() error) {
	rc.t.Helper()
	rc.wmu.Lock()
	err := fn()
	rc.wmu.Unlock()
	if err != nil {
		rc.t.Fatalf("writing %s: %v (%s)", what, err, rc.describe())
	}
}

// writeSettings sends a SETTINGS frame and accounts for a change of
// SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 6.9.2).
func (rc *rawClient) writeSettings(settings ...http2.Setting) {
	rc.t.Helper()
	iws := int64(-1)
	for _, s := range settings {
		if s.ID == http2.SettingInitialWindowSize {
			iws = int64(s.Val)
		}
	}
	if iws > rc.initialWindow {
		rc.adjustStreamWindows(iws - rc.initialWindow)
		rc.initialWindow = iws
	}
	rc.pendingIWS = append(rc.pendingIWS, iws)
	rc.write("SETTINGS", func() error { return rc.fr.WriteSettings(settings...) })
}

// syncSettings reads until the server has acknowledged every SETTINGS sent.
func (rc *rawClient) syncSettings() {
	rc.t.Helper()
	rc.readUntil("the SETTINGS ACK", func() bool { return len(rc.pendingIWS) == 0 })
}

// windowUpdate grants the server n more bytes on stream id (0: the connection).
func (rc *rawClient) windowUpdate(id, n uint32) {
	if id == 0 {
		rc.connWindow += int64(n)
	} else {
		rc.stream(id).window += int64(n)
	}
	rc.locked(func() error { return rc.fr.WriteWindowUpdate(id, n) })
}

// encode HPACK-encodes name, value pairs into a header block.
func (rc *rawClient) encode(pairs ...string) []byte {
	rc.t.Helper()
	if len(pairs)%2 != 0 {
		rc.t.Fatalf("encode: odd number of strings: %q", pairs)
	}
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	rc.encBuf.Reset()
	for i := 0; i < len(pairs); i += 2 {
		rc.enc.WriteField(hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]})
	}
	return bytes.Clone(rc.encBuf.Bytes())
}

// writeBlock sends a header block on stream id as one HEADERS frame and as
// many CONTINUATION frames as needed, with nothing in between. It may run on
// a goroutine other than the test's; it returns the first write error.
func (rc *rawClient) writeBlock(id uint32, endStream bool, block []byte) error {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	first := true
	for {
		frag := block
		if len(frag) > clientMaxFrameSize {
			frag = frag[:clientMaxFrameSize]
		}
		block = block[len(frag):]
		last := len(block) == 0
		var err error
		if first {
			err = rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag, EndStream: endStream, EndHeaders: last})
		} else {
			err = rc.fr.WriteContinuation(id, last, frag)
		}
		if err != nil || last {
			return err
		}
		first = false
	}
}

// writeHeaders opens (or continues) stream id with a header section made of
// name, value pairs, written exactly as given (pseudo-headers included).
func (rc *rawClient) writeHeaders(id uint32, endStream bool, pairs ...string) {
	rc.t.Helper()
	rc.stream(id)
	block := rc.encode(pairs...)
	if err := rc.writeBlock(id, endStream, block); err != nil {
		rc.t.Fatalf("writing HEADERS on stream %d: %v (%s)", id, err, rc.describe())
	}
}

// request opens stream id with a request for path: :method, :scheme http,
// :authority and :path, then the extra name, value pairs.
func (rc *rawClient) request(id uint32, method, path string, endStream bool, extra ...string) {
	rc.t.Helper()
	pairs := append([]string{":method", method, ":scheme", "http", ":authority", rc.authority, ":path", path}, extra...)
	rc.writeHeaders(id, endStream, pairs...)
}

// data sends one DATA frame on stream id.
func (rc *rawClient) data(id uint32, endStream bool, p []byte) {
	rc.t.Helper()
	rc.write(fmt.Sprintf("DATA on stream %d", id), func() error { return rc.fr.WriteData(id, endStream, p) })
}

// rstStream resets stream id with code.
func (rc *rawClient) rstStream(id uint32, code http2.ErrCode) {
	rc.t.Helper()
	rc.write(fmt.Sprintf("RST_STREAM on stream %d", id), func() error { return rc.fr.WriteRSTStream(id, code) })
}

// expectResponse fails t unless the stream ended normally with status and body.
func expectResponse(t *testing.T, st *clientStream, status int, body string) {
	t.Helper()
	if !st.endStream || st.rst || st.status != status || st.body.String() != body {
		t.Fatalf("want a complete %d response with body %q; got %s, body %q", status, body, st, st.body.String())
	}
}
