package main

import (
	"context"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// store holds the products in this instance's memory, and tells this
// instance's watchers about price changes; it is safe for concurrent use.
// It hands out copies, so callers may keep or change what they get. Its
// methods take a context and return errors only to match redisStore.
type store struct {
	mu       sync.Mutex
	products map[string]*catalogpb.Product
	watchers map[chan *catalogpb.PriceUpdate]struct{}
}

// watchBuffer is how many price updates a watcher may fall behind before
// further ones are dropped for it: a watcher that slow has stopped
// reading, and only the newest price matters.
const watchBuffer = 16

func newStore(products []*catalogpb.Product) *store {
	s := &store{products: map[string]*catalogpb.Product{}, watchers: map[chan *catalogpb.PriceUpdate]struct{}{}}
	for _, p := range products {
		s.products[p.GetId()] = proto.CloneOf(p)
	}
	return s
}

// seed is the catalog an instance starts with; the ids are the SKUs the
// inventory service stocks.
func seed() []*catalogpb.Product {
	return []*catalogpb.Product{
		{Id: "hoodie", Name: "Pylon hoodie", PriceCents: 4900, StockHint: 10},
		{Id: "mug", Name: "Pylon mug", PriceCents: 1250, StockHint: 100},
		{Id: "sticker", Name: "Pylon sticker", PriceCents: 300, StockHint: 1000},
		{Id: "tshirt", Name: "Pylon t-shirt", PriceCents: 2200, StockHint: 50},
	}
}

func (s *store) get(_ context.Context, id string) (*catalogpb.Product, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[id]
	if !ok {
		return nil, false, nil
	}
	return proto.CloneOf(p), true, nil
}

// list returns every product, ordered by id.
func (s *store) list(context.Context) ([]*catalogpb.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*catalogpb.Product, 0, len(s.products))
	for _, p := range s.products {
		out = append(out, proto.CloneOf(p))
	}
	sortByID(out)
	return out, nil
}

func sortByID(products []*catalogpb.Product) {
	slices.SortFunc(products, func(a, b *catalogpb.Product) int { return strings.Compare(a.GetId(), b.GetId()) })
}

// put adds p or replaces the product with its id, tells the watchers when
// the price changed, and reports whether p was new.
func (s *store) put(_ context.Context, p *catalogpb.Product) (added bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.products[p.GetId()]
	s.products[p.GetId()] = proto.CloneOf(p)
	if exists && old.GetPriceCents() != p.GetPriceCents() {
		for w := range s.watchers {
			select {
			case w <- &catalogpb.PriceUpdate{Id: p.GetId(), PriceCents: p.GetPriceCents()}:
			default: // see watchBuffer
			}
		}
	}
	return !exists, nil
}

// watch returns a channel receiving every later price change, and the
// function that stops it.
func (s *store) watch(context.Context) (<-chan *catalogpb.PriceUpdate, func(), error) {
	ch := make(chan *catalogpb.PriceUpdate, watchBuffer)
	s.mu.Lock()
	s.watchers[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.watchers, ch)
		s.mu.Unlock()
	}, nil
}
