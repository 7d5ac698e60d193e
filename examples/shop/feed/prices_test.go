package main

import (
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// fakeCatalog answers WatchPrices streams: it reports each stream's first
// request on opened and then sends the stream what the test puts on
// updates.
type fakeCatalog struct {
	catalogpb.UnimplementedCatalogServer
	opened  chan string
	updates chan *catalogpb.PriceUpdate
}

func (f *fakeCatalog) WatchPrices(stream catalogpb.Catalog_WatchPricesServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	select {
	case f.opened <- req.GetId():
	case <-stream.Context().Done():
		return nil
	}
	for {
		select {
		case u := <-f.updates:
			if err := stream.Send(u); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return nil
		}
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
	f := &fakeCatalog{opened: make(chan string, 1), updates: make(chan *catalogpb.PriceUpdate)}
	addr, stop := serveCatalog(t, "127.0.0.1:0", f)
	url, _ := startFeed(t, nil, time.Hour, addr)
	ctx := testContext(t)
	c := dial(t, ctx, url)
	read(t, ctx, c) // hello: the client is subscribed to prices

	for i, price := range []int64{999, 1100} {
		if i > 0 { // catalog restarts on the same port
			stop()
			serveCatalog(t, addr, f)
		}
		select {
		case id := <-f.opened:
			if id != "mug" {
				t.Errorf("the feed watches %q first, want mug", id)
			}
		case <-ctx.Done():
			t.Fatalf("stream %d: the feed did not open a WatchPrices stream", i)
		}
		f.updates <- &catalogpb.PriceUpdate{Id: "mug", PriceCents: price}
		want := Message{Type: "price", Instance: "feed-1", Price: &Price{ID: "mug", PriceCents: price}}
		if diff := cmp.Diff(want, read(t, ctx, c), ignoreTime); diff != "" {
			t.Errorf("stream %d: price message (-want +got):\n%s", i, diff)
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
