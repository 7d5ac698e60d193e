package h2client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/internal/h2fields"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// stream is one request and its response. Its fields are guarded by the
// connection's mu.
type stream struct {
	c    *Conn
	id   uint32
	req  *http.Request
	resp *http.Response
	// body holds response bytes not yet read; eof: the server ended the
	// stream; err: the stream failed.
	body []byte
	eof  bool
	err  error
	// reqDone: the request is sent (or will not be); respDone: the caller
	// is done with the response. The stream leaves the table when both
	// are.
	reqDone, respDone bool
	// flow control
	sendWindow  int64
	recvUnacked int64
	bodyClosed  bool
	stopCancel  func() bool
	closeReq    sync.Once
}

// abortRequestBody closes the request body so that a writer blocked
// reading it (a tunnel's, say) wakes once the stream has failed.
func (st *stream) abortRequestBody() {
	go st.closeReq.Do(func() { closeBody(st.req) })
}

func (st *stream) failLocked(err error) {
	if st.err == nil {
		st.err = err
	}
}

// RoundTrip sends req on the connection and returns the response once its
// header has arrived; the body follows as it is read. A Reserve made
// before is used; otherwise RoundTrip reserves a stream itself.
func (c *Conn) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c.mu.Lock()
	if c.reserved > 0 {
		c.reserved--
	} else if err := c.reserveLocked(); err != nil {
		c.mu.Unlock()
		closeBody(req)
		return nil, err
	}
	// starting counts the request until its stream is in the table, so
	// that InFlight does not drop to 0 in between.
	c.starting++
	c.lastUsed = time.Now()
	c.checkIdleLocked()
	if err := c.usableLocked(); err != nil {
		c.starting--
		c.mu.Unlock()
		closeBody(req)
		return nil, err
	}
	if limit := c.peerMaxHeaderList; limit > 0 {
		if n := headerListSize(req); n > uint64(limit) {
			c.starting--
			c.mu.Unlock()
			closeBody(req)
			return nil, fmt.Errorf("h2client: the request's header list is %d bytes, more than the %d the server accepts (SETTINGS_MAX_HEADER_LIST_SIZE)", n, limit)
		}
	}
	st := &stream{c: c, req: req, sendWindow: c.peerInitialWindow}
	c.mu.Unlock()

	hasBody := req.Body != nil && req.Body != http.NoBody
	if err := c.writeHeaders(st, req, !hasBody); err != nil {
		closeBody(req)
		return nil, err
	}
	c.mu.Lock()
	st.stopCancel = context.AfterFunc(ctx, func() { c.cancel(st, ctxError(ctx)) })
	c.mu.Unlock()
	if hasBody {
		go st.writeBody()
	} else {
		st.done(&st.reqDone)
	}
	c.mu.Lock()
	c.await(func() bool { return st.resp != nil || st.err != nil })
	if st.resp == nil {
		err := st.err
		if err == nil {
			err = c.err
		}
		c.mu.Unlock()
		st.stopCancel()
		st.done(&st.respDone)
		return nil, err
	}
	resp := st.resp
	c.mu.Unlock()
	resp.Body = &responseBody{st: st}
	resp.Request = req
	return resp, nil
}

// headerListSize is the size RFC 9113 (6.5.2) gives req's header list:
// each field's name and value and 32 bytes, pseudo-header fields included.
func headerListSize(req *http.Request) uint64 {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	n := uint64(len(":method")+len(req.Method)+len(":authority")+len(host)) + 2*32
	if req.Method != http.MethodConnect {
		n += uint64(len(":scheme")+len("https")+len(":path")+len(req.URL.RequestURI())) + 2*32
	}
	for k, vv := range req.Header {
		for _, v := range vv {
			n += uint64(len(k)+len(v)) + 32
		}
	}
	return n
}

func (c *Conn) reserveLocked() error {
	if err := c.usableLocked(); err != nil {
		return err
	}
	if uint32(c.reserved+c.starting+len(c.streams)) >= c.peerMaxStreams {
		return fmt.Errorf("%w: connection at the server's limit of concurrent streams", ErrUnsent)
	}
	return nil
}

func (c *Conn) usableLocked() error {
	switch {
	case c.err != nil:
		return fmt.Errorf("%w: %w", ErrUnsent, c.err)
	case c.goAway:
		return fmt.Errorf("%w: the server sent GOAWAY", ErrUnsent)
	}
	return nil
}

// writeHeaders encodes and writes the request's HEADERS, giving the
// stream its ID in the order streams go out.
func (c *Conn) writeHeaders(st *stream, req *http.Request, end bool) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	c.starting--
	if err := c.usableLocked(); err != nil {
		c.mu.Unlock()
		return err
	}
	st.id = c.nextID
	c.nextID += 2
	c.streams[st.id] = st
	c.mu.Unlock()
	c.hbuf.Reset()
	c.henc.WriteField(hpack.HeaderField{Name: ":method", Value: req.Method})
	if req.Method == http.MethodConnect {
		c.henc.WriteField(hpack.HeaderField{Name: ":authority", Value: host})
	} else {
		scheme := req.URL.Scheme
		if scheme == "" {
			scheme = "https"
		}
		c.henc.WriteField(hpack.HeaderField{Name: ":scheme", Value: scheme})
		c.henc.WriteField(hpack.HeaderField{Name: ":authority", Value: host})
		c.henc.WriteField(hpack.HeaderField{Name: ":path", Value: req.URL.RequestURI()})
	}
	for k, vv := range req.Header {
		name := h2fields.Lower(k)
		if h2fields.ConnectionSpecific(name) || name == "host" || !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		for _, v := range vv {
			if name == "te" && (v != "trailers" || len(req.Trailer) > 0) {
				continue // only "te: trailers" may cross HTTP/2 (RFC 9113 8.2.2)
			}
			if httpguts.ValidHeaderFieldValue(v) {
				c.henc.WriteField(h2fields.Field(name, v))
			}
		}
	}
	if req.ContentLength > 0 && req.Header.Get("Content-Length") == "" {
		c.henc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.FormatInt(req.ContentLength, 10)})
	}
	if len(req.Trailer) > 0 {
		// Declared, so that servers which pass on only declared trailers
		// (net/http's) keep them.
		names := make([]string, 0, len(req.Trailer))
		for k := range req.Trailer {
			names = append(names, strings.ToLower(k))
		}
		c.henc.WriteField(hpack.HeaderField{Name: "trailer", Value: strings.Join(names, ", ")})
		c.henc.WriteField(hpack.HeaderField{Name: "te", Value: "trailers"})
	}
	c.writeBlockLocked(st.id, end, c.hbuf.Bytes())
	return c.flushLocked()
}

// writeBlockLocked writes a header block in the frames the server's frame
// size needs. The caller holds wmu.
func (c *Conn) writeBlockLocked(id uint32, end bool, block []byte) {
	c.mu.Lock()
	max := int(c.peerMaxFrame)
	c.mu.Unlock()
	h2fields.WriteHeaderBlock(c.fr, id, end, block, max)
}

// writeBody sends the request body as the server's windows allow, then
// its trailers or END_STREAM.
func (st *stream) writeBody() {
	c := st.c
	req := st.req
	defer st.closeReq.Do(func() { closeBody(req) })
	defer st.done(&st.reqDone)
	buf := make([]byte, 16<<10)
	for {
		n, rerr := req.Body.Read(buf)
		p := buf[:n]
		for len(p) > 0 {
			k, err := st.reserveSend(len(p))
			if err != nil {
				return
			}
			c.wmu.Lock()
			c.fr.WriteData(st.id, false, p[:k])
			err = c.flushLocked()
			c.wmu.Unlock()
			if err != nil {
				return
			}
			p = p[k:]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			c.cancel(st, fmt.Errorf("h2client: reading the request body: %w", rerr))
			return
		}
	}
	c.wmu.Lock()
	if len(req.Trailer) > 0 {
		c.hbuf.Reset()
		for k, vv := range req.Trailer {
			for _, v := range vv {
				c.henc.WriteField(hpack.HeaderField{Name: strings.ToLower(k), Value: v})
			}
		}
		c.writeBlockLocked(st.id, true, c.hbuf.Bytes())
	} else {
		c.fr.WriteData(st.id, true, nil)
	}
	c.flushLocked()
	c.wmu.Unlock()
}

// reserveSend waits for window to send up to n bytes, at most a frame.
func (st *stream) reserveSend(n int) (int, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var k int64
	c.await(func() bool {
		if st.err != nil || st.eof {
			return true
		}
		k = min(int64(n), st.sendWindow, c.sendWindow, int64(c.peerMaxFrame))
		return k > 0
	})
	switch {
	case st.err != nil:
		return 0, st.err
	case c.err != nil:
		return 0, c.err
	case st.eof:
		return 0, errors.New("h2client: the response ended before the request body was sent")
	}
	st.sendWindow -= k
	c.sendWindow -= k
	return int(k), nil
}

// cancel ends a stream on the client's side: RST_STREAM(CANCEL), and a
// PING so that a caller reading for the others wakes up to see it.
func (c *Conn) cancel(st *stream, err error) {
	c.mu.Lock()
	if st.err != nil || (st.eof && st.reqDone) {
		c.mu.Unlock()
		return
	}
	st.failLocked(err)
	reading := c.reading
	if !st.reqDone {
		st.abortRequestBody()
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	c.writeRST(st.id, http2.ErrCodeCancel)
	if reading {
		seq := c.poke()
		time.AfterFunc(cancelGrace, func() {
			c.mu.Lock()
			stuck := c.pingAcked < seq
			c.mu.Unlock()
			if stuck {
				c.fail(errors.New("h2client: the server did not answer a PING"))
			}
		})
	}
}

// handleLocked applies one frame; the caller holds mu.
func (c *Conn) handleLocked(f http2.Frame) {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		c.onHeadersLocked(f)
	case *http2.DataFrame:
		c.onDataLocked(f)
	case *http2.RSTStreamFrame:
		if st := c.streams[f.StreamID]; st != nil {
			err := error(http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode})
			if f.ErrCode == http2.ErrCodeRefusedStream && st.resp == nil {
				err = fmt.Errorf("%w: %w", ErrUnsent, err)
			}
			st.failLocked(err)
			if f.ErrCode == http2.ErrCodeNo && st.eof {
				st.err = nil // the response was complete (RFC 9113 8.1)
			}
			if !st.reqDone {
				st.abortRequestBody()
			}
		}
	case *http2.SettingsFrame:
		c.onSettingsLocked(f)
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			c.sendWindow = min(c.sendWindow+int64(f.Increment), maxWindow)
		} else if st := c.streams[f.StreamID]; st != nil {
			st.sendWindow = min(st.sendWindow+int64(f.Increment), maxWindow)
		}
	case *http2.PingFrame:
		if f.IsAck() {
			c.pingAcked = max(c.pingAcked, pingSeqOf(f.Data))
		} else {
			go func() {
				c.wmu.Lock()
				c.fr.WritePing(true, f.Data)
				c.flushLocked()
				c.wmu.Unlock()
			}()
		}
	case *http2.GoAwayFrame:
		c.goAway = true
		c.lastOK = f.LastStreamID
		for id, st := range c.streams {
			if id > f.LastStreamID {
				st.failLocked(fmt.Errorf("%w: the server sent GOAWAY", ErrUnsent))
			}
		}
		if len(c.streams) == 0 && c.reserved == 0 && c.starting == 0 {
			go c.fail(fmt.Errorf("%w: the server sent GOAWAY", ErrUnsent))
		}
		if h := c.hook; h != nil {
			go h(c)
		}
	case *http2.PushPromiseFrame:
		go c.fail(errors.New("h2client: the server pushed, though push is disabled"))
	}
}

func (c *Conn) onSettingsLocked(f *http2.SettingsFrame) {
	if f.IsAck() {
		return
	}
	var tableSize uint32
	var setTable bool
	f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInitialWindow
			for _, st := range c.streams {
				st.sendWindow += delta
			}
			c.peerInitialWindow = int64(s.Val)
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		case http2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = s.Val
		case http2.SettingMaxHeaderListSize:
			c.peerMaxHeaderList = s.Val
		case http2.SettingHeaderTableSize:
			tableSize, setTable = s.Val, true
		}
		return nil
	})
	go func() {
		c.wmu.Lock()
		if setTable {
			c.henc.SetMaxDynamicTableSizeLimit(tableSize)
		}
		c.fr.WriteSettingsAck()
		c.flushLocked()
		c.wmu.Unlock()
	}()
}

func (c *Conn) onHeadersLocked(f *http2.MetaHeadersFrame) {
	st := c.streams[f.StreamID]
	if st == nil {
		return
	}
	if st.resp != nil {
		// Trailers.
		st.resp.Trailer = h2fields.Header(f.RegularFields(), nil)
		if f.StreamEnded() {
			c.endLocked(st)
		}
		return
	}
	code, err := strconv.Atoi(f.PseudoValue("status"))
	if err != nil {
		st.failLocked(errors.New("h2client: response without a valid :status"))
		return
	}
	if code >= 100 && code < 200 {
		return // informational
	}
	h := h2fields.Header(f.RegularFields(), nil)
	cl := int64(-1)
	if v := h.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			cl = n
		}
	}
	st.resp = &http.Response{
		Status: statusLine(code), StatusCode: code,
		Proto: "HTTP/2.0", ProtoMajor: 2, Header: h, ContentLength: cl,
	}
	if f.StreamEnded() {
		st.resp.ContentLength = 0
		c.endLocked(st)
	}
}

// statusLines holds Response.Status for the codes net/http names.
var statusLines [600]string

func init() {
	for code := range statusLines {
		if text := http.StatusText(code); text != "" {
			statusLines[code] = strconv.Itoa(code) + " " + text
		}
	}
}

// statusLine returns Response.Status for code, "404 Not Found".
func statusLine(code int) string {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

func (c *Conn) onDataLocked(f *http2.DataFrame) {
	n := int64(f.Length)
	c.recvUnacked += n
	st := c.streams[f.StreamID]
	if st == nil || st.bodyClosed || st.err != nil {
		c.giveBackLocked(nil)
		return
	}
	st.body = append(st.body, f.Data()...)
	st.recvUnacked += n - int64(len(f.Data()))
	if f.StreamEnded() {
		c.endLocked(st)
	}
}

// endLocked marks the response complete.
func (c *Conn) endLocked(st *stream) {
	st.eof = true
}

// giveBackLocked sends WINDOW_UPDATEs for what was consumed, once a
// quarter of a window is due.
func (c *Conn) giveBackLocked(st *stream) {
	var connInc, stInc uint32
	if c.recvUnacked >= int64(c.cfg.MaxReceiveBufferPerConnection/4) {
		connInc = uint32(c.recvUnacked)
		c.recvUnacked = 0
	}
	if st != nil && !st.eof && st.recvUnacked >= int64(c.cfg.MaxReceiveBufferPerStream/4) {
		stInc = uint32(st.recvUnacked)
		st.recvUnacked = 0
	}
	if connInc == 0 && stInc == 0 {
		return
	}
	var id uint32
	if st != nil {
		id = st.id
	}
	go func() {
		c.wmu.Lock()
		if connInc > 0 {
			c.fr.WriteWindowUpdate(0, connInc)
		}
		if stInc > 0 {
			c.fr.WriteWindowUpdate(id, stInc)
		}
		c.flushLocked()
		c.wmu.Unlock()
	}()
}

// responseBody is a response's body as the caller reads it.
type responseBody struct {
	st   *stream
	once sync.Once
}

func (b *responseBody) Read(p []byte) (int, error) {
	st := b.st
	c := st.c
	c.mu.Lock()
	c.await(func() bool { return len(st.body) > 0 || st.eof || st.err != nil || st.bodyClosed })
	switch {
	case st.bodyClosed:
		c.mu.Unlock()
		return 0, errors.New("h2client: read on closed body")
	case len(st.body) > 0:
	case st.err != nil:
		err := st.err
		c.mu.Unlock()
		return 0, err
	case st.eof:
		c.mu.Unlock()
		b.finish()
		return 0, io.EOF
	default:
		err := c.err
		c.mu.Unlock()
		return 0, err
	}
	n := copy(p, st.body)
	st.body = st.body[n:]
	c.recvUnacked += int64(n)
	st.recvUnacked += int64(n)
	c.giveBackLocked(st)
	var err error
	if len(st.body) == 0 && st.eof {
		err = io.EOF
	}
	c.mu.Unlock()
	if err != nil {
		b.finish()
	}
	return n, err
}

// finish ends the caller's part of the stream once its response was read
// to the end or closed.
func (b *responseBody) finish() {
	b.once.Do(func() {
		b.st.stopCancel()
		b.st.done(&b.st.respDone)
	})
}

// done sets one of the stream's done flags and takes the stream out of
// the table once both are set.
func (st *stream) done(flag *bool) {
	c := st.c
	c.mu.Lock()
	*flag = true
	fin := func() {}
	if st.reqDone && st.respDone {
		fin = c.streamDoneLocked(st)
	}
	c.mu.Unlock()
	fin()
}

// Close stops reading: a response not read to its end is cancelled.
func (b *responseBody) Close() error {
	st := b.st
	c := st.c
	c.mu.Lock()
	complete := st.eof && len(st.body) == 0
	st.bodyClosed = true
	c.recvUnacked += int64(len(st.body))
	st.body = nil
	c.giveBackLocked(nil)
	c.cond.Broadcast()
	c.mu.Unlock()
	if !complete {
		c.cancel(st, errors.New("h2client: response body closed"))
	}
	b.finish()
	return nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
