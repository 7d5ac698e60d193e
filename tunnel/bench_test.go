package tunnel

import (
	"io"
	"net"
	"testing"
)

// pingPongSize is the message each ping-pong round sends and gets back.
const pingPongSize = 64 << 10

// BenchmarkPingPong sends 64 KB to an echo server and reads them back,
// over a tunnel (mTLS HTTP/2 CONNECT, through the remote sidecar's Splice)
// and over a plain loopback TCP connection.
func BenchmarkPingPong(b *testing.B) {
	up := serveTCP(b, echo)
	b.Run("tunnel", func(b *testing.B) {
		sc := startSidecar(b, HandlerOptions{Dial: dialTCP})
		pingPong(b, mustDial(b, clientTransport(b, nil), sc, up))
	})
	b.Run("tcp", func(b *testing.B) {
		c, err := net.Dial("tcp", up)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		pingPong(b, c)
	})
}

func pingPong(b *testing.B, c net.Conn) {
	msg := make([]byte, pingPongSize)
	got := make([]byte, pingPongSize)
	b.SetBytes(2 * pingPongSize)
	b.ReportAllocs()
	for b.Loop() {
		errc := make(chan error, 1)
		go func() {
			_, err := c.Write(msg)
			errc <- err
		}()
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}
