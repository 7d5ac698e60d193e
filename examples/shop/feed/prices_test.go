package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// fakeCatalog answers WatchPrices streams: it puts every request it
// receives on requests, answers each with the price in answer unless that
// is 0 (a catalog gone silent behind a proxy), and sends the stream what
// the test puts on updates.
type fakeCatalog struct {
	catalogpb.UnimplementedCatalogServer
	answer   int64
	requests chan string
	updates  chan *catalogpb.PriceUpdate
}

func newFakeCatalog(answer int64) *fakeCatalog {
	return &fakeCatalog{answer: answer, requests: make(chan string, 100), updates: make(chan *catalogpb.PriceUpdate)}
}

func (f *fakeCatalog) WatchPrices(stream catalogpb.Catalog_WatchPricesServer) error {
	ids := make(chan string)
	go func() {
		defer close(ids)
		for {
			req, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case f.requests <- req.GetId():
			case <-stream.Context().Done():
				return
			}
			select {
			case ids <- req.GetId():
			case <-stream.Context().Done():
				return
			}
		}
	}()
	for {
		var u *catalogpb.PriceUpdate
		select {
		case id, ok := <-ids:
			if !ok {
				return nil
			}
			if f.answer == 0 {
				continue
			}
			u = &catalogpb.PriceUpdate{Id: id, PriceCents: f.answer}
		case u = <-f.updates:
		}
		if err := stream.Send(u); err != nil {
			return err
		}
	}
}

// request waits for the next request f receives.
func (f *fakeCatalog) request(t *testing.T, ctx context.Context) string {
	t.Helper()
	select {
	case id := <-f.requests:
		return id
	case <-ctx.Done():
		t.Fatal("the feed sent catalog no request")
		return ""
	}
}

// serveCatalog serves f on addr over gRPC and returns the address and the
// function that stops the server, which cleanup calls too.
func serveCatalog(t *testing.T, addr string, f *fakeCatalog) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	catalogpb.RegisterCatalogServer(gs, f)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	return ln.Addr().String(), gs.Stop
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return ln.Addr().String()
}

// TestPricesFromCatalog sends catalog's price updates to the feed's client,
// also after catalog restarts and the feed reconnects.
func TestPricesFromCatalog(t *testing.T) {
	f := newFakeCatalog(0)
	addr, stop := serveCatalog(t, "127.0.0.1:0", f)
	url, _ := startFeed(t, nil, time.Hour, addr, time.Hour)
	ctx := testContext(t)
	c := dial(t, ctx, url)
	read(t, ctx, c) // hello: the client is subscribed to prices

	for i, price := range []int64{999, 1100} {
		if i > 0 { // catalog restarts on the same port
			stop()
			serveCatalog(t, addr, f)
		}
		if id := f.request(t, ctx); id != "mug" {
			t.Errorf("stream %d: got a watch of %q, want mug", i, id)
		}
		f.updates <- &catalogpb.PriceUpdate{Id: "mug", PriceCents: price}
		want := Message{Type: "price", Instance: "feed-1", Price: &Price{ID: "mug", PriceCents: price}}
		if diff := cmp.Diff(want, read(t, ctx, c), ignoreTime); diff != "" {
			t.Errorf("stream %d: price message (-want +got):\n%s", i, diff)
		}
	}
}

// TestProbesKeepTheStream has catalog answer the feed's probes: the stream
// stays, and the unchanged price they bring is not sent again.
func TestProbesKeepTheStream(t *testing.T) {
	f := newFakeCatalog(1250)
	addr, _ := serveCatalog(t, "127.0.0.1:0", f)
	url, _ := startFeed(t, nil, time.Hour, addr, 20*time.Millisecond)
	ctx := testContext(t)
	c := dial(t, ctx, url)
	read(t, ctx, c) // hello
	for range 6 {   // the watch and five probes, all of the mug
		if id := f.request(t, ctx); id != "mug" {
			t.Fatalf("got a request for %q, want mug", id)
		}
	}
	f.updates <- &catalogpb.PriceUpdate{Id: "mug", PriceCents: 999}
	var got []Price
	for len(got) == 0 || got[len(got)-1].PriceCents != 999 {
		got = append(got, *read(t, ctx, c).Price)
	}
	// The first price reaches the client only when it subscribed first.
	if got[0].PriceCents == 1250 {
		got = got[1:]
	}
	if diff := cmp.Diff([]Price{{ID: "mug", PriceCents: 999}}, got); diff != "" {
		t.Errorf("prices (-want +got):\n%s", diff)
	}
}

// TestSilentCatalogIsLeft has a stream that stays open but answers nothing,
// as when a proxy keeps it after catalog is gone: the feed gives it up
// after a probe interval and opens another.
func TestSilentCatalogIsLeft(t *testing.T) {
	f := newFakeCatalog(0)
	addr, _ := serveCatalog(t, "127.0.0.1:0", f)
	watchCatalog(t, addr, newPriceHub(), 5*time.Millisecond)
	ctx := testContext(t)
	for i := range 2 { // each stream's watch of the mug; no probes
		if id := f.request(t, ctx); id != "mug" {
			t.Errorf("stream %d: got a request for %q, want mug", i, id)
		}
	}
}

func TestPriceHubDropsForAStuckClient(t *testing.T) {
	h := newPriceHub()
	stuck, stopStuck := h.subscribe()
	defer stopStuck()
	for i := range priceBuffer + 5 {
		h.publish(Price{ID: "mug", PriceCents: int64(i)})
	}
	live, stopLive := h.subscribe()
	h.publish(Price{ID: "mug", PriceCents: 1})
	stopLive()
	h.publish(Price{ID: "mug", PriceCents: 2})
	if got, want := len(stuck), priceBuffer; got != want {
		t.Errorf("got %d prices waiting for the stuck client, want %d", got, want)
	}
	if diff := cmp.Diff([]Price{{ID: "mug", PriceCents: 1}}, drain(live)); diff != "" {
		t.Errorf("prices of a client that stopped (-want +got):\n%s", diff)
	}
}

func drain(ch <-chan Price) []Price {
	var out []Price
	for {
		select {
		case p := <-ch:
			out = append(out, p)
		default:
			return out
		}
	}
}
