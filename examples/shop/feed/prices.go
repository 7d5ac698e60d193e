package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
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
// for the whole feed: it sends the SKUs it watches and publishes each
// price it receives, the current ones first, on the hub.
type priceWatcher struct {
	catalog catalogpb.CatalogClient
	skus    []string
	hub     *priceHub
	log     *slog.Logger
	// The wait before reconnecting starts at minBackoff after a stream
	// that worked and doubles, up to maxBackoff, while catalog fails.
	minBackoff, maxBackoff time.Duration
}

// run watches until ctx ends, reconnecting whenever the stream breaks
// (catalog restarted, or not reachable yet).
func (w *priceWatcher) run(ctx context.Context) {
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream
	stream, err := w.catalog.WatchPrices(ctx)
	if err != nil {
		return false, fmt.Errorf("watch prices: %w", err)
	}
	for _, sku := range w.skus {
		if err := stream.Send(&catalogpb.WatchRequest{Id: sku}); err != nil {
			break // the stream is broken; Recv says why
		}
	}
	for {
		u, err := stream.Recv()
		if err != nil {
			return worked, fmt.Errorf("watch prices: %w", err)
		}
		if !worked {
			w.log.Info("watching catalog's prices", "skus", w.skus)
			worked = true
		}
		w.hub.publish(Price{ID: u.GetId(), PriceCents: u.GetPriceCents()})
	}
}
