package h1

import (
	"io"
	"net/http"
	"strconv"
)

// AppendRequestLine appends "METHOD target HTTP/1.1\r\n" to dst.
func AppendRequestLine(dst, method, target []byte) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	return append(dst, " HTTP/1.1\r\n"...)
}

// AppendStatusLine appends "HTTP/1.<minor> <status> <reason>\r\n" to dst;
// an empty reason is replaced by the standard one for status.
func AppendStatusLine(dst []byte, minor, status int, reason []byte) []byte {
	dst = append(dst, "HTTP/1."...)
	dst = append(dst, byte('0'+minor%10), ' ')
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	if len(reason) > 0 {
		dst = append(dst, reason...)
	} else {
		dst = append(dst, http.StatusText(status)...)
	}
	return append(dst, "\r\n"...)
}

// AppendHeader appends "name: value\r\n" to dst. The caller guarantees a
// valid name and value (see ValidFieldName and ValidFieldValue); fields
// parsed by a Reader always are.
func AppendHeader(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// chunkCopyMax is the largest chunk a ChunkedWriter copies so that it goes
// out in one write; larger chunks take three.
const chunkCopyMax = 4 << 10

// ChunkedWriter writes a chunked body (RFC 9112 7.1) to an io.Writer. Its
// zero value is ready after Reset. It is not safe for concurrent use.
type ChunkedWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// Reset makes c write a new body to w.
func (c *ChunkedWriter) Reset(w io.Writer) {
	c.w, c.err = w, nil
	if c.buf == nil {
		c.buf = make([]byte, 0, chunkCopyMax+32)
	}
}

// Write writes p as one chunk; an empty p writes nothing (it would end the
// body).
func (c *ChunkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	b := strconv.AppendInt(c.buf[:0], int64(len(p)), 16)
	b = append(b, "\r\n"...)
	if len(p) <= chunkCopyMax {
		b = append(b, p...)
		b = append(b, "\r\n"...)
		c.err = c.write(b)
		c.buf = b[:0]
		return c.result(len(p))
	}
	if c.err = c.write(b); c.err == nil {
		if c.err = c.write(p); c.err == nil {
			c.err = c.write(crlf)
		}
	}
	return c.result(len(p))
}

var crlf = []byte("\r\n")

func (c *ChunkedWriter) result(n int) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	return n, nil
}

func (c *ChunkedWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// Close writes the last chunk and the trailer fields; it does not close
// the underlying writer.
func (c *ChunkedWriter) Close(trailers []Header) error {
	if c.err != nil {
		return c.err
	}
	b := append(c.buf[:0], "0\r\n"...)
	for _, h := range trailers {
		b = AppendHeader(b, h.Name, h.Value)
	}
	b = append(b, "\r\n"...)
	c.err = c.write(b)
	c.buf = b[:0]
	return c.err
}
