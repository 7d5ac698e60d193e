package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// Price is a product's new price, as the feed's clients see it.
type Price struct {
	ID         string `json:"id"`
	PriceCents int64  `json:"price_cents"`
}

// priceBuffer is how many prices a client may fall behind before further
// ones are dropped for it; its stream is stuck by then.
const priceBuffer = 16

// priceHub hands every price to every connected client. It is safe for
// concurrent use.
type priceHub struct {
	mu      sync.Mutex
	clients map[chan Price]struct{}
}

func newPriceHub() *priceHub {
	return &priceHub{clients: map[chan Price]struct{}{}}
}

// subscribe returns a channel receiving every later price, and the
// function that stops it.
func (h *priceHub) subscribe() (<-chan Price, func()) {
	ch := make(chan Price, priceBuffer)
	h.mu.Lock()
	h.clients[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.clients, ch)
		h.mu.Unlock()
	}
}

func (h *priceHub) publish(p Price) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.clients {
		select {
		case ch <- p:
		default: // see priceBuffer
		}
	}
}

// priceWatcher keeps one bidirectional WatchPrices stream to catalog open
// for the whole feed: it sends the SKUs it watches and publishes each new
// price it receives, the current ones first, on the hub.
type priceWatcher struct {
	catalog catalogpb.CatalogClient
	skus    []string
	hub     *priceHub
	log     *slog.Logger
	// The wait before reconnecting starts at minBackoff after a stream
	// that worked and doubles, up to maxBackoff, while catalog fails.
	minBackoff, maxBackoff time.Duration
	// probe is how often the watcher asks again for a price to see that
	// the stream still reaches catalog.
	probe time.Duration
	// last is the price last published per SKU; only run's goroutine
	// uses it.
	last map[string]int64
}

// run watches until ctx ends, reconnecting whenever the stream breaks
// (catalog restarted, or not reachable yet).
func (w *priceWatcher) run(ctx context.Context) {
	w.last = map[string]int64{}
	backoff := w.minBackoff
	for {
		worked, err := w.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		if worked {
			backoff = w.minBackoff
		}
		w.log.Warn("price watch broke: reconnecting to catalog", "err", err, "after", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, w.maxBackoff)
	}
}

// watch is one WatchPrices stream, until it breaks; it reports whether
// catalog answered at all.
func (w *priceWatcher) watch(ctx context.Context) (worked bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil) // ends the stream
	stream, err := w.catalog.WatchPrices(ctx)
	if err != nil {
		return false, fmt.Errorf("watch prices: %w", err)
	}
	for _, sku := range w.skus {
		if err := stream.Send(&catalogpb.WatchRequest{Id: sku}); err != nil {
			break // the stream is broken; Recv says why
		}
	}
	var heard atomic.Bool
	go w.keepProbing(ctx, stream, &heard, cancel)
	for {
		u, err := stream.Recv()
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				err = cause
			}
			return worked, fmt.Errorf("watch prices: %w", err)
		}
		heard.Store(true)
		if !worked {
			w.log.Info("watching catalog's prices", "skus", w.skus)
			worked = true
		}
		if last, ok := w.last[u.GetId()]; !ok || last != u.GetPriceCents() {
			w.last[u.GetId()] = u.GetPriceCents()
			w.hub.publish(Price{ID: u.GetId(), PriceCents: u.GetPriceCents()})
		}
	}
}

// keepProbing asks for the first SKU's price every probe interval, and
// ends the stream when nothing came back in an interval: a proxy between
// the feed and catalog (the sidecars) may keep a stream open after catalog
// is gone, and keepalive pings do not reach past it. It returns when ctx
// ends.
func (w *priceWatcher) keepProbing(ctx context.Context, stream catalogpb.Catalog_WatchPricesClient, heard *atomic.Bool, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(w.probe)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !heard.Swap(false) {
			cancel(fmt.Errorf("catalog sent nothing for %v, not even the price asked for", w.probe))
			return
		}
		if stream.Send(&catalogpb.WatchRequest{Id: w.skus[0]}) != nil {
			return // the stream is broken; Recv says why
		}
	}
}
