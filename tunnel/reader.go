package tunnel

import (
	"io"
	"net"
	"os"
	"sync"
)

// readBufSize is the size of the buffer a tunnel reads its response into.
const readBufSize = 32 << 10

// bodyReader reads a CONNECT response body on its own goroutine, so that a
// read deadline can interrupt a blocked Read without ending the stream.
type bodyReader struct {
	body   io.ReadCloser
	chunks chan chunk    // pump to read: one filled buffer
	more   chan struct{} // read to pump: the buffer is free again
	dl     *deadline     // read deadline
	once   sync.Once     // closes closed
	closed chan struct{}

	mu   sync.Mutex // serializes read
	rest []byte     // what read has not returned yet of the last chunk
	err  error      // sticky: the body's error after its last chunk
}

// chunk is one Read of the response body.
type chunk struct {
	b   []byte
	err error
}

func newBodyReader(body io.ReadCloser) *bodyReader {
	r := &bodyReader{
		body:   body,
		chunks: make(chan chunk),
		more:   make(chan struct{}, 1),
		dl:     newDeadline(),
		closed: make(chan struct{}),
	}
	go r.pump(make([]byte, readBufSize))
	return r
}

// pump reads the body into buf until the body fails or the reader closes,
// handing each read over and waiting until it has been consumed.
func (r *bodyReader) pump(buf []byte) {
	for {
		n, err := r.body.Read(buf)
		select {
		case r.chunks <- chunk{buf[:n], err}:
		case <-r.closed:
			return
		}
		if err != nil {
			return
		}
		select {
		case <-r.more:
		case <-r.closed:
			return
		}
	}
}

// read implements net.Conn's Read.
func (r *bodyReader) read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if isClosed(r.closed) {
		return 0, net.ErrClosed
	}
	for len(r.rest) == 0 && r.err == nil {
		select {
		case c := <-r.chunks:
			r.rest, r.err = c.b, c.err
			if len(r.rest) == 0 && r.err == nil {
				r.more <- struct{}{}
			}
		case <-r.closed:
			return 0, net.ErrClosed
		case <-r.dl.wait():
			return 0, os.ErrDeadlineExceeded
		}
	}
	if len(r.rest) == 0 {
		return 0, r.err
	}
	n := copy(b, r.rest)
	r.rest = r.rest[n:]
	if len(r.rest) == 0 && r.err == nil {
		r.more <- struct{}{}
	}
	return n, nil
}

// close ends reading and closes the body, which resets the stream if the
// remote side has not ended it.
func (r *bodyReader) close() {
	r.once.Do(func() {
		close(r.closed)
		r.body.Close()
	})
}
