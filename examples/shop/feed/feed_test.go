package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/internal/redistest"
)

// startFeed serves a feed and returns its ws:// URL and the function that
// shuts it down. Unless catalogAddr is empty, the feed watches the mug's
// price there, probing every probe.
func startFeed(t *testing.T, rdb *redis.Client, heartbeat time.Duration, catalogAddr string, probe time.Duration) (string, func()) {
	t.Helper()
	shutdown := make(chan struct{})
	hub := newPriceHub()
	if catalogAddr != "" {
		watchCatalog(t, catalogAddr, hub, probe)
	}
	srv := httptest.NewServer(newHandler(&feed{
		rdb: rdb, prices: hub, heartbeat: heartbeat, instance: "feed-1",
		log: slog.New(slog.DiscardHandler), shutdown: shutdown,
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/feed", func() { close(shutdown) }
}

// watchCatalog runs a priceWatcher of the mug until the test ends.
func watchCatalog(t *testing.T, addr string, hub *priceHub, probe time.Duration) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &priceWatcher{
		catalog: catalogpb.NewCatalogClient(conn), skus: []string{"mug"}, hub: hub,
		log: slog.New(slog.DiscardHandler), minBackoff: 10 * time.Millisecond, maxBackoff: 100 * time.Millisecond, probe: probe,
	}
	go func() { w.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; conn.Close() })
}

func dial(t *testing.T, ctx context.Context, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dialing the feed: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func read(t *testing.T, ctx context.Context, c *websocket.Conn) Message {
	t.Helper()
	var m Message
	if err := wsjson.Read(ctx, c, &m); err != nil {
		t.Fatalf("reading a message: %v", err)
	}
	return m
}

var ignoreTime = cmpopts.IgnoreFields(Message{}, "Time")

func ptr[T any](v T) *T { return &v }

// TestHeartbeatsWithoutRedis also has no catalog to watch: the feed goes on
// without both.
func TestHeartbeatsWithoutRedis(t *testing.T) {
	url, _ := startFeed(t, nil, 10*time.Millisecond, deadAddr(t), time.Hour)
	ctx := testContext(t)
	c := dial(t, ctx, url)
	want := []Message{
		{Type: "hello", Instance: "feed-1", Redis: ptr(false)},
		{Type: "heartbeat", Instance: "feed-1"},
		{Type: "heartbeat", Instance: "feed-1"},
	}
	var got []Message
	for range want {
		got = append(got, read(t, ctx, c))
	}
	if diff := cmp.Diff(want, got, ignoreTime); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// TestOrdersFromRedis publishes an order as the orders service does and
// expects it on the WebSocket.
func TestOrdersFromRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	t.Cleanup(func() { rdb.Close() })
	url, _ := startFeed(t, rdb, time.Hour, "", 0)
	ctx := testContext(t)
	c := dial(t, ctx, url)
	// hello is sent once the feed's subscription is confirmed, so nothing
	// published after it is missed.
	if diff := cmp.Diff(Message{Type: "hello", Instance: "feed-1", Redis: ptr(true)}, read(t, ctx, c), ignoreTime); diff != "" {
		t.Fatalf("hello (-want +got):\n%s", diff)
	}
	order := `{"id":"ord-1","sku":"mug","qty":2}`
	if err := rdb.Publish(ctx, Channel, order).Err(); err != nil {
		t.Fatal(err)
	}
	want := Message{Type: "order", Instance: "feed-1", Order: json.RawMessage(order)}
	if diff := cmp.Diff(want, read(t, ctx, c), ignoreTime); diff != "" {
		t.Errorf("order message (-want +got):\n%s", diff)
	}
}

func TestShutdownClosesStreams(t *testing.T) {
	url, shutdown := startFeed(t, nil, time.Hour, "", 0)
	ctx := testContext(t)
	c := dial(t, ctx, url)
	read(t, ctx, c) // hello
	shutdown()
	_, _, err := c.Read(ctx)
	if got, want := websocket.CloseStatus(err), websocket.StatusGoingAway; got != want {
		t.Errorf("got close status %v (%v), want %v", got, err, want)
	}
}

func TestPlainGetIsRefused(t *testing.T) {
	url, _ := startFeed(t, nil, time.Hour, "", 0)
	res, err := http.Get("http" + strings.TrimPrefix(url, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.StatusCode, http.StatusUpgradeRequired; got != want {
		t.Errorf("got status %d for a GET without upgrade, want %d", got, want)
	}
}

func TestHealth(t *testing.T) {
	url, _ := startFeed(t, nil, time.Hour, "", 0)
	res, err := http.Get("http" + strings.TrimSuffix(strings.TrimPrefix(url, "ws"), "/feed") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Errorf("got status %d, want %d", got, want)
	}
}
