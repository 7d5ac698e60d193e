package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const wsConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: ws
    service: echo
services:
  - name: echo
    endpoints: [{{.Echo}}]
`

// dialWS opens a WebSocket to pylon's /ws route.
func dialWS(ctx context.Context, addr string) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		return nil, fmt.Errorf("dialing ws://%s/ws: %w", addr, err)
	}
	c.SetReadLimit(16 << 20)
	return c, nil
}

// echoOnce writes msg and checks that the same message comes back.
func echoOnce(ctx context.Context, c *websocket.Conn, typ websocket.MessageType, msg []byte) error {
	if err := c.Write(ctx, typ, msg); err != nil {
		return fmt.Errorf("writing a %v message: %w", typ, err)
	}
	gotTyp, got, err := c.Read(ctx)
	if err != nil {
		return fmt.Errorf("reading the echo: %w", err)
	}
	if gotTyp != typ || !bytes.Equal(got, msg) {
		return fmt.Errorf("got a %v message of %d bytes, want the %v message of %d bytes sent", gotTyp, len(got), typ, len(msg))
	}
	return nil
}

func TestWebSocket(t *testing.T) {
	g := startGateway(t, wsConfig, map[string]string{"Echo": startEcho(t, "ws")})

	t.Run("text, binary, 1 MB and close", func(t *testing.T) {
		ctx := testContext(t, 20*time.Second)
		c, err := dialWS(ctx, g.addr("web"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		big := make([]byte, 1<<20)
		rand.Read(big)
		msgs := []struct {
			typ websocket.MessageType
			msg []byte
		}{
			{websocket.MessageText, []byte("hello")},
			{websocket.MessageBinary, []byte{0, 1, 2, 0xff}},
			{websocket.MessageBinary, big},
			{websocket.MessageText, bytes.Repeat([]byte("t"), 1<<20)},
		}
		for _, m := range msgs {
			if err := echoOnce(ctx, c, m.typ, m.msg); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Errorf("close handshake: got %v, want it to complete", err)
		}
	})

	t.Run("100 concurrent connections", func(t *testing.T) {
		ctx := testContext(t, 30*time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := dialWS(ctx, g.addr("web"))
				if err != nil {
					errs <- err
					return
				}
				defer c.CloseNow()
				for j := range 5 {
					msg := []byte(fmt.Sprintf("conn %d message %d", i, j))
					if err := echoOnce(ctx, c, websocket.MessageText, msg); err != nil {
						errs <- fmt.Errorf("connection %d: %w", i, err)
						return
					}
				}
				if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
					errs <- fmt.Errorf("connection %d close: %w", i, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		n := 0
		for err := range errs {
			if n < 5 {
				t.Error(err)
			}
			n++
		}
		if n > 0 {
			t.Errorf("%d of 100 connections failed", n)
		}
	})
}
