package test

import (
	"bytes"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestMeshWebSocket: an app opens a WebSocket to another service through
// its sidecar; the upgrade crosses the mesh in a tunnel (an HTTP/2 CONNECT
// stream on the sidecars' mTLS connection) and messages flow both ways.
func TestMeshWebSocket(t *testing.T) {
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), []string{"--protocol", "http1"})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	waitFor(t, 10*time.Second, "orders to reach catalog", func() bool { return servedBy(orders.url("catalog")+"/x", "catalog-1") })

	ctx := testContext(t, 20*time.Second)
	c, err := dialWS(ctx, orders.outbound["catalog"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, m := range [][]byte{[]byte("hello"), bytes.Repeat([]byte{7}, 1<<20)} {
		if err := echoOnce(ctx, c, websocket.MessageBinary, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close handshake: %v", err)
	}
}
