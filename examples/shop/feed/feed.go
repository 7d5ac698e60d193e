package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/redis/go-redis/v9"

	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
)

// Channel is the Redis pub/sub channel orders publishes each placed order
// on, as JSON.
const Channel = "orders"

// writeTimeout bounds each message sent to a client.
const writeTimeout = 5 * time.Second

// Message is what a client receives, one JSON text frame each:
//
//	{"type":"hello","instance":"feed-1","redis":true,"time":"…"}                       on connecting
//	{"type":"order","instance":"feed-1","order":{…},"time":"…"}                       per order placed
//	{"type":"price","instance":"feed-1","price":{"id":"mug","price_cents":999},"time":"…"}  per price from catalog
//	{"type":"heartbeat","instance":"feed-1","time":"…"}                               every interval
type Message struct {
	Type     string          `json:"type"`
	Instance string          `json:"instance"`
	Redis    *bool           `json:"redis,omitempty"`
	Order    json.RawMessage `json:"order,omitempty"`
	Price    *Price          `json:"price,omitempty"`
	Time     time.Time       `json:"time"`
}

// feed streams order events and prices to WebSocket clients. Heartbeats
// are sent with or without Redis and catalog: they show a live feed when
// nothing happens, and keep the connection from looking idle to the
// gateway (its listeners close streams silent for idle_timeout, 60s by
// default).
type feed struct {
	rdb       *redis.Client // nil: no orders
	prices    *priceHub     // what the priceWatcher receives from catalog
	heartbeat time.Duration
	instance  string
	log       *slog.Logger
	// shutdown is closed when the process stops; open streams end then
	// with 1001 (going away), since the HTTP server does not wait for
	// upgraded connections.
	shutdown <-chan struct{}
}

func newHandler(f *feed) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed", f.serveWS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func (f *feed) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the client already
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context()) // cancelled when the client goes
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-f.shutdown:
			c.Close(websocket.StatusGoingAway, "feed shutting down")
		case <-ctx.Done():
		}
	}()
	if err := f.stream(ctx, c); err != nil && ctx.Err() == nil {
		f.log.Warn("feed stream ended", "remote", r.RemoteAddr, "err", err)
		c.Close(websocket.StatusInternalError, "feed failed")
	}
}

// stream sends hello, then orders, prices and heartbeats until ctx ends.
func (f *feed) stream(ctx context.Context, c *websocket.Conn) error {
	prices, stopPrices := f.prices.subscribe()
	defer stopPrices()
	var orders <-chan *redis.Message
	if f.rdb != nil {
		sub := f.rdb.Subscribe(ctx, Channel)
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil { // the confirmation
			return fmt.Errorf("subscribe to redis channel %q: %w", Channel, err)
		}
		orders = sub.Channel()
	}
	withRedis := f.rdb != nil
	if err := f.send(ctx, c, Message{Type: "hello", Redis: &withRedis}); err != nil {
		return err
	}
	tick := time.NewTicker(f.heartbeat)
	defer tick.Stop()
	for {
		var m Message
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			m = Message{Type: "heartbeat"}
		case msg := <-orders:
			m = Message{Type: "order", Order: json.RawMessage(msg.Payload)}
		case p := <-prices:
			m = Message{Type: "price", Price: &p}
		}
		if err := f.send(ctx, c, m); err != nil {
			return err
		}
	}
}

func (f *feed) send(ctx context.Context, c *websocket.Conn, m Message) error {
	m.Instance, m.Time = f.instance, time.Now().UTC()
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := wsjson.Write(ctx, c, m); err != nil {
		return fmt.Errorf("send %s: %w", m.Type, err)
	}
	return nil
}
