package h1

import (
	"bytes"
	"fmt"
	"io"
)

// Limits bounds what a Reader accepts in one message head. A zero field
// takes its value from DefaultLimits; no limit exceeds the Reader's buffer.
type Limits struct {
	// MaxHeaderBytes bounds the start line plus header fields, line endings
	// included (431).
	MaxHeaderBytes int
	// MaxURIBytes bounds the request-target (414).
	MaxURIBytes int
	// MaxHeaders bounds the number of header fields (431).
	MaxHeaders int
}

// DefaultLimits are used for the zero fields of a Limits.
var DefaultLimits = Limits{MaxHeaderBytes: 32 << 10, MaxURIBytes: 8 << 10, MaxHeaders: 100}

const (
	// minBufSize is the smallest head buffer a Reader uses.
	minBufSize = 4 << 10
	// maxChunkLine bounds a chunk-size line, extensions and CRLF included;
	// the buffer keeps this much room beyond the head for body framing.
	maxChunkLine = 4 << 10
	// maxEmptyLines is how many CRLFs before a request line are ignored
	// (RFC 9112 2.2).
	maxEmptyLines = 4
	// maxEmptyReads bounds reads that return no bytes and no error.
	maxEmptyReads = 100
)

// Reader reads HTTP/1.x messages from one connection. It owns one buffer,
// reused for the connection's life (and across connections with Reset). A
// Reader is not safe for concurrent use.
type Reader struct {
	src     io.Reader
	buf     []byte
	headCap int
	// buf[r:w] are bytes read from src and not consumed yet.
	r, w int
	// srcErr is the sticky error of src; err the sticky framing error.
	srcErr, err error
	lim         Limits
	// bodyBase is where the current head ends: body framing may reuse the
	// buffer from there on, never before.
	bodyBase int
	// headCount is the number of fields of the current head.
	headCount int
	// pending is set while the current message's body is not read to its end.
	pending  bool
	fixed    fixedBody
	chunked  chunkedBody
	closed   closeBody
	trailers []Header
}

// initialBuf is the buffer a Reader starts with; it grows, up to the head
// capacity plus room for chunk framing, only when a message needs more.
// Most heads are well under it, so an idle keep-alive connection holds
// a few KiB, not its limit.
const initialBuf = 8 << 10

// NewReader returns a Reader of src whose heads may be up to bufSize bytes
// (at least 4 KiB). It allocates 8 KiB at first and grows its buffer as
// messages need, to at most bufSize plus 4 KiB for chunk framing.
func NewReader(src io.Reader, bufSize int) *Reader {
	bufSize = max(bufSize, minBufSize)
	r := &Reader{buf: make([]byte, min(initialBuf, bufSize+maxChunkLine)), headCap: bufSize}
	r.fixed.r, r.chunked.r, r.closed.r = r, r, r
	r.Reset(src)
	return r
}

// Reset discards all state and makes r read from src.
func (r *Reader) Reset(src io.Reader) {
	r.src = src
	r.r, r.w, r.bodyBase, r.headCount = 0, 0, 0, 0
	r.srcErr, r.err = nil, nil
	r.pending = false
	r.trailers = r.trailers[:0]
}

// SetSource makes r read from src from now on, keeping what it has
// buffered and the state of the message being read: for a connection that
// moves to another implementation of the same socket.
func (r *Reader) SetSource(src io.Reader) { r.src = src }

// Buffered returns the number of bytes read from the source and not yet
// consumed: the start of a body or of a pipelined message.
func (r *Reader) Buffered() int { return r.w - r.r }

// Read reads raw bytes: buffered bytes first, then the source. It is for
// connections that leave HTTP/1.1 (Upgrade, CONNECT).
func (r *Reader) Read(p []byte) (int, error) {
	if r.r < r.w {
		n := copy(p, r.buf[r.r:r.w])
		r.r += n
		return n, nil
	}
	if r.srcErr != nil {
		return 0, r.srcErr
	}
	return r.src.Read(p)
}

// Trailers returns the trailer fields of the last chunked body read to its
// end, valid until the next ReadRequest or ReadResponse.
func (r *Reader) Trailers() []Header { return r.trailers }

// begin prepares the reading of a new head: it refuses when the previous
// body is unread, moves pipelined bytes to the front and settles limits.
func (r *Reader) begin(lim Limits) error {
	if r.err != nil {
		return r.err
	}
	if r.pending {
		return ErrUnreadBody
	}
	r.w = copy(r.buf, r.buf[r.r:r.w])
	r.r, r.bodyBase, r.headCount = 0, 0, 0
	r.trailers = r.trailers[:0]
	r.lim = settle(lim, r.headCap)
	return nil
}

func settle(lim Limits, headCap int) Limits {
	d := DefaultLimits
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if lim.MaxURIBytes <= 0 {
		lim.MaxURIBytes = d.MaxURIBytes
	}
	if lim.MaxHeaders <= 0 {
		lim.MaxHeaders = d.MaxHeaders
	}
	lim.MaxHeaderBytes = min(lim.MaxHeaderBytes, headCap)
	return lim
}

// fail makes err sticky when it is a framing error and returns it.
func (r *Reader) fail(err error) error {
	if _, ok := err.(*Error); ok {
		r.err = err
	}
	return err
}

// fill reads more bytes from the source into buf[w:], growing a full
// buffer first when it may grow.
func (r *Reader) fill() error {
	if r.srcErr != nil {
		return r.srcErr
	}
	if r.w == len(r.buf) {
		r.grow()
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			n = 0
		}
		r.w += n
		if err != nil {
			r.srcErr = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	r.srcErr = io.ErrNoProgress
	return r.srcErr
}

// headLine returns the next line of the head, without its CRLF, reading
// more input as needed. The head starts at buf[0] and never moves while it
// is read. uri is the request-target limit while the request line is read
// (0 otherwise), so a long target is refused before the line ends.
func (r *Reader) headLine(uri int) ([]byte, error) {
	from := r.r
	for {
		if i := bytes.IndexByte(r.buf[from:r.w], '\n'); i >= 0 {
			end := from + i
			if end >= r.lim.MaxHeaderBytes {
				return nil, r.headTooLarge(uri)
			}
			if end == r.r || r.buf[end-1] != '\r' {
				return nil, badRequest("bare LF in head")
			}
			line := r.buf[r.r : end-1]
			r.r = end + 1
			return line, nil
		}
		from = r.w
		if r.w >= r.lim.MaxHeaderBytes {
			return nil, r.headTooLarge(uri)
		}
		if uri > 0 && partialTarget(r.buf[r.r:r.w]) > uri {
			return nil, &Error{Status: 414, Code: CodeURITooLong, Msg: "request-target too long"}
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && r.w == 0 {
				return nil, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("h1: reading message head: %w", err)
		}
	}
}

func (r *Reader) headTooLarge(uri int) error {
	if uri > 0 && partialTarget(r.buf[r.r:r.w]) > uri {
		return &Error{Status: 414, Code: CodeURITooLong, Msg: "request-target too long"}
	}
	return tooLarge("message head too large")
}

// partialTarget returns the length of the request-target seen so far in
// an incomplete request line.
func partialTarget(line []byte) int {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return 0
	}
	t := line[sp+1:]
	if end := bytes.IndexByte(t, ' '); end >= 0 {
		t = t[:end]
	}
	return len(t)
}

// readFields parses header fields up to the empty line ending the head.
func (r *Reader) readFields(dst []Header) ([]Header, error) {
	for {
		line, err := r.headLine(0)
		if err != nil {
			return dst, err
		}
		if len(line) == 0 {
			return dst, nil
		}
		if len(dst) >= r.lim.MaxHeaders {
			return dst, tooLarge("too many header fields")
		}
		h, err := parseField(line)
		if err != nil {
			return dst, err
		}
		dst = append(dst, h)
	}
}

// endHead records where the head ends and whether a body follows.
func (r *Reader) endHead(count int, body bool) {
	r.bodyBase = r.r
	r.headCount = count
	r.pending = body
}

// Peek waits until at least one byte of the next message is buffered and
// returns the buffered bytes, valid until the next read. A server uses it
// to tell an idle keep-alive connection from one that has started a
// request, so it can apply an idle timeout to the first and a header
// timeout to the second.
func (r *Reader) Peek() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.pending {
		return nil, ErrUnreadBody
	}
	if r.r < r.w {
		return r.buf[r.r:r.w], nil
	}
	// Nothing of the previous message is needed any more.
	r.r, r.w = 0, 0
	if err := r.fill(); err != nil {
		return nil, err
	}
	return r.buf[r.r:r.w], nil
}

// grow doubles the buffer, up to the head capacity plus room for chunk
// framing, and reports whether it did. Slices handed out before (header
// fields of the current head) keep pointing into the old buffer, whose
// bytes never change again, so they stay valid.
func (r *Reader) grow() bool {
	full := r.headCap + maxChunkLine
	if len(r.buf) >= full {
		return false
	}
	nb := make([]byte, min(2*len(r.buf), full))
	copy(nb, r.buf[:r.w])
	r.buf = nb
	return true
}
