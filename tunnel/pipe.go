package tunnel

import (
	"io"
	"net"
	"os"
	"sync"
)

// bodyPipe is the request body of a tunnel: the tunnel's Write hands bytes
// to the HTTP/2 transport, which reads them as the body and sends them as
// DATA frames. Unlike io.Pipe, a blocked Write can be interrupted by a write
// deadline without breaking the pipe, and the writer can end the body
// (END_STREAM) while the transport keeps the stream open for the answer.
type bodyPipe struct {
	wmu  sync.Mutex    // serializes Write
	data chan []byte   // writer to reader: the bytes left to write
	took chan int      // reader to writer: how many of them it copied
	wdl  *deadline     // write deadline
	once sync.Once     // closes wend
	wend chan struct{} // closed when the writer is done
	werr error         // why: io.EOF for a clean end; set before wend closes
	rmu  sync.Once     // closes rend
	rend chan struct{} // closed when the reader (the transport) is done
}

func newBodyPipe() *bodyPipe {
	return &bodyPipe{
		data: make(chan []byte),
		took: make(chan int),
		wdl:  newDeadline(),
		wend: make(chan struct{}),
		rend: make(chan struct{}),
	}
}

// Read implements io.Reader for the transport.
func (p *bodyPipe) Read(b []byte) (int, error) {
	select {
	case <-p.rend:
		return 0, io.ErrClosedPipe
	case <-p.wend:
		return 0, p.werr
	case d := <-p.data:
		n := copy(b, d)
		p.took <- n
		return n, nil
	}
}

// Close implements io.Closer for the transport, which closes the body when
// it has sent it or when the stream ends.
func (p *bodyPipe) Close() error {
	p.rmu.Do(func() { close(p.rend) })
	return nil
}

// write hands b to the transport and waits until it has copied all of it.
func (p *bodyPipe) write(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	n := 0
	for {
		switch {
		case isClosed(p.wend):
			return n, net.ErrClosed
		case isClosed(p.rend):
			return n, io.ErrClosedPipe
		case isClosed(p.wdl.wait()):
			return n, os.ErrDeadlineExceeded
		}
		if len(b) == 0 {
			return n, nil
		}
		select {
		case p.data <- b:
			k := <-p.took
			n += k
			b = b[k:]
		case <-p.wend:
		case <-p.rend:
		case <-p.wdl.wait():
		}
	}
}

// closeWrite ends the body: the transport reads err (io.EOF for a clean
// end, which it sends as END_STREAM; another error resets the stream).
func (p *bodyPipe) closeWrite(err error) {
	p.once.Do(func() {
		p.werr = err
		close(p.wend)
	})
}
