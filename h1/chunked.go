package h1

import (
	"io"
	"math"
)

// States of a chunkedBody.
const (
	chunkSize = iota // before a chunk-size line
	chunkData        // inside chunk data
	chunkCRLF        // after chunk data, before its CRLF
	chunkDone        // after the trailer section
)

// chunkedBody decodes a chunked body (RFC 9112 7.1) strictly.
type chunkedBody struct {
	r     *Reader
	state int
	left  int64 // bytes left in the current chunk
	err   error
}

func (c *chunkedBody) reset() {
	c.state, c.left, c.err = chunkSize, 0, nil
}

// Read implements io.Reader. It returns what data is at hand rather than
// wait for more, and io.EOF after the trailer section.
func (c *chunkedBody) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.read(p)
	if err != nil {
		if _, ok := err.(*Error); ok {
			c.r.err = err
		}
		c.err = err
	}
	return n, err
}

func (c *chunkedBody) read(p []byte) (n int, err error) {
	r := c.r
	for {
		// Block for input only while nothing has been read into p.
		if n > 0 && (n == len(p) || r.r == r.w) {
			return n, nil
		}
		switch c.state {
		case chunkSize:
			if err := c.sizeLine(); err != nil {
				return n, err
			}
		case chunkData:
			if n == len(p) {
				return n, nil
			}
			q := p[n:]
			if int64(len(q)) > c.left {
				q = q[:c.left]
			}
			m, err := r.readBody(q)
			n += m
			c.left -= int64(m)
			if c.left == 0 {
				c.state = chunkCRLF
			}
			if err == io.EOF {
				return n, errShortBody
			}
			if err != nil || m == 0 {
				return n, err
			}
		case chunkCRLF:
			line, err := r.bodyLine(2, true)
			if err == errLineTooLong || (err == nil && len(line) > 0) {
				return n, badChunk("chunk data not followed by CRLF")
			}
			if err != nil {
				return n, err
			}
			c.state = chunkSize
		default:
			return n, io.EOF
		}
	}
}

// sizeLine reads a chunk-size line; after the last chunk it reads the
// trailer section and ends the body.
func (c *chunkedBody) sizeLine() error {
	line, err := c.r.bodyLine(maxChunkLine, true)
	if err == errLineTooLong {
		return badChunk("chunk-size line too long")
	}
	if err != nil {
		return err
	}
	size, err := parseChunkLine(line)
	if err != nil {
		return err
	}
	if size > 0 {
		c.state, c.left = chunkData, size
		return nil
	}
	if err := c.r.readTrailers(); err != nil {
		return err
	}
	c.state = chunkDone
	c.r.bodyDone()
	return nil
}

// parseChunkLine parses chunk-size [chunk-ext]: 1 to 16 hex digits, then
// extensions ";name[=token|quoted-string]" with no whitespace.
func parseChunkLine(line []byte) (int64, error) {
	var size uint64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i == 16 {
			return 0, badChunk("chunk size too long")
		}
		size = size<<4 | uint64(d)
	}
	if i == 0 {
		return 0, badChunk("malformed chunk size")
	}
	if size > math.MaxInt64 {
		return 0, badChunk("chunk size overflows")
	}
	if !validExtensions(line[i:]) {
		return 0, badChunk("malformed chunk extension")
	}
	return int64(size), nil
}

func unhex(b byte) int {
	switch {
	case b >= '0' && b <= '9':
		return int(b - '0')
	case b >= 'a' && b <= 'f':
		return int(b-'a') + 10
	case b >= 'A' && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

// validExtensions checks *( ";" token [ "=" ( token / quoted-string ) ] ).
func validExtensions(b []byte) bool {
	for len(b) > 0 {
		if b[0] != ';' {
			return false
		}
		n := tokenLen(b[1:])
		if n == 0 {
			return false
		}
		b = b[1+n:]
		if len(b) == 0 || b[0] != '=' {
			continue
		}
		b = b[1:]
		if n = tokenLen(b); n == 0 {
			n = quotedLen(b)
		}
		if n == 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

func tokenLen(b []byte) int {
	n := 0
	for n < len(b) && tchar[b[n]] {
		n++
	}
	return n
}

// quotedLen returns the length of the quoted-string b starts with, or 0.
func quotedLen(b []byte) int {
	if len(b) == 0 || b[0] != '"' {
		return 0
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 == len(b) || !valueChar[b[i+1]] {
				return 0
			}
			i++
		case !qdtext[c]:
			return 0
		}
	}
	return 0
}

// readTrailers reads the trailer section after the last chunk. Trailer
// fields share the head's byte and field limits, and must sit contiguous
// in the buffer: unread bytes move down once, before the first field.
func (r *Reader) readTrailers() error {
	r.moveDown()
	budget := max(r.lim.MaxHeaderBytes-r.bodyBase, 0) + 2
	count := r.lim.MaxHeaders - r.headCount
	start := r.r
	for {
		line, err := r.bodyLine(budget-(r.r-start), false)
		if err == errLineTooLong {
			return tooLarge("trailer section too large")
		}
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if len(r.trailers) >= count {
			return tooLarge("too many trailer fields")
		}
		h, err := parseField(line)
		if err != nil {
			return badChunk("malformed trailer field")
		}
		r.trailers = append(r.trailers, h)
	}
}
