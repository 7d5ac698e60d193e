package h1

import (
	"bytes"
	"fmt"
	"io"
)

// BodyReader returns the reader of the current message's body: exactly
// contentLength bytes, a strictly decoded chunked body, or (-1, false)
// everything up to the source's EOF. It returns io.EOF at the body's end,
// an *Error for malformed chunked framing, and io.ErrUnexpectedEOF (wrapped)
// when the source ends early. The reader is part of r: it is valid until the
// next BodyReader call and does not allocate.
func (r *Reader) BodyReader(contentLength int64, chunked bool) io.Reader {
	switch {
	case chunked:
		r.chunked.reset()
		return &r.chunked
	case contentLength < 0:
		return &r.closed
	default:
		r.fixed.left = contentLength
		return &r.fixed
	}
}

// readBody reads body bytes into p: buffered bytes first, else straight
// from the source.
func (r *Reader) readBody(p []byte) (int, error) {
	if r.r < r.w {
		n := copy(p, r.buf[r.r:r.w])
		r.r += n
		return n, nil
	}
	if r.srcErr != nil {
		return 0, r.srcErr
	}
	n, err := r.src.Read(p)
	if err != nil {
		r.srcErr = err
	}
	return n, err
}

// bodyDone marks the current body as read to its end.
func (r *Reader) bodyDone() { r.pending = false }

var errShortBody = fmt.Errorf("h1: reading body: %w", io.ErrUnexpectedEOF)

// fixedBody reads a body of known length.
type fixedBody struct {
	r    *Reader
	left int64
}

// Read implements io.Reader.
func (b *fixedBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		b.r.bodyDone()
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.readBody(p)
	b.left -= int64(n)
	if b.left == 0 {
		b.r.bodyDone()
		return n, io.EOF
	}
	if err == io.EOF {
		err = errShortBody
	}
	return n, err
}

// closeBody reads a body that ends with the connection.
type closeBody struct{ r *Reader }

// Read implements io.Reader.
func (b *closeBody) Read(p []byte) (int, error) {
	n, err := b.r.readBody(p)
	if err == io.EOF {
		b.r.bodyDone()
	}
	return n, err
}

// bodyLine returns the next CRLF-terminated line of body framing (without
// CRLF), at most max bytes with its CRLF. With compact, it may move unread
// bytes back to the end of the head to make room.
func (r *Reader) bodyLine(max int, compact bool) ([]byte, error) {
	from := r.r
	for {
		if i := bytes.IndexByte(r.buf[from:r.w], '\n'); i >= 0 {
			end := from + i
			if end+1-r.r > max {
				return nil, errLineTooLong
			}
			if end == r.r || r.buf[end-1] != '\r' {
				return nil, badChunk("bare LF in chunked body")
			}
			line := r.buf[r.r : end-1]
			r.r = end + 1
			return line, nil
		}
		if r.w-r.r >= max {
			return nil, errLineTooLong
		}
		if r.w == len(r.buf) && !r.grow() {
			if !compact {
				return nil, errLineTooLong
			}
			r.moveDown()
		}
		from = r.w
		if err := r.fill(); err != nil {
			if err == io.EOF {
				return nil, errShortBody
			}
			return nil, fmt.Errorf("h1: reading chunked body: %w", err)
		}
	}
}

// errLineTooLong is mapped by bodyLine's callers to their own *Error.
var errLineTooLong = badChunk("line too long")

// moveDown moves the unread bytes to the end of the head.
func (r *Reader) moveDown() {
	n := copy(r.buf[r.bodyBase:], r.buf[r.r:r.w])
	r.r, r.w = r.bodyBase, r.bodyBase+n
}
