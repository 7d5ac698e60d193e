package main

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// products is where the server keeps its products: store, in this
// instance's memory, or redisStore, shared by every instance.
type products interface {
	get(ctx context.Context, id string) (p *catalogpb.Product, ok bool, err error)
	// list returns every product, ordered by id.
	list(ctx context.Context) ([]*catalogpb.Product, error)
	// put adds p or replaces the product with its id, tells the watchers
	// when the price changed, and reports whether p was new.
	put(ctx context.Context, p *catalogpb.Product) (added bool, err error)
	// watch returns a channel receiving every later price change, and the
	// function that stops it.
	watch(ctx context.Context) (updates <-chan *catalogpb.PriceUpdate, stop func(), err error)
}

// server implements catalogpb.CatalogServer over its products.
type server struct {
	catalogpb.UnimplementedCatalogServer
	store products
}

// GetProduct is the unary call.
func (s *server) GetProduct(ctx context.Context, req *catalogpb.GetProductRequest) (*catalogpb.Product, error) {
	return s.product(ctx, req.GetId())
}

// product finds a product, or says with a status why it cannot.
func (s *server) product(ctx context.Context, id string) (*catalogpb.Product, error) {
	p, ok, err := s.store.get(ctx, id)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "%v", err)
	}
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no product %q", id)
	}
	return p, nil
}

// ListProducts is the server-streaming call: one message per product.
func (s *server) ListProducts(_ *catalogpb.ListProductsRequest, stream catalogpb.Catalog_ListProductsServer) error {
	all, err := s.store.list(stream.Context())
	if err != nil {
		return status.Errorf(codes.Unavailable, "%v", err)
	}
	for _, p := range all {
		if err := stream.Send(p); err != nil {
			return err
		}
	}
	return nil
}

// ImportProducts is the client-streaming call: it stores each product it
// receives and sums up when the client is done.
func (s *server) ImportProducts(stream catalogpb.Catalog_ImportProductsServer) error {
	var sum catalogpb.ImportSummary
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&sum)
		}
		if err != nil {
			return err
		}
		if p.GetId() == "" || p.GetPriceCents() < 0 {
			return status.Errorf(codes.InvalidArgument, "product %q: needs an id and a price of at least 0", p.GetId())
		}
		added, err := s.store.put(stream.Context(), p)
		if err != nil {
			return status.Errorf(codes.Unavailable, "%v", err)
		}
		if added {
			sum.Added++
		} else {
			sum.Updated++
		}
	}
}

// WatchPrices is the bidirectional call: each request is answered with the
// product's price now, and later price changes of the watched products
// follow as they happen.
func (s *server) WatchPrices(stream catalogpb.Catalog_WatchPricesServer) error {
	updates, stop, err := s.store.watch(stream.Context())
	if err != nil {
		return status.Errorf(codes.Unavailable, "%v", err)
	}
	defer stop()
	ids, done := receiveIDs(stream)
	watched := map[string]bool{}
	for {
		select {
		case id := <-ids:
			p, err := s.product(stream.Context(), id)
			if err != nil {
				return err
			}
			watched[id] = true
			if err := stream.Send(&catalogpb.PriceUpdate{Id: id, PriceCents: p.GetPriceCents()}); err != nil {
				return err
			}
		case u := <-updates:
			if !watched[u.GetId()] {
				continue
			}
			if err := stream.Send(u); err != nil {
				return err
			}
		case err := <-done:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// receiveIDs reads the stream's requests in a goroutine of its own, so
// WatchPrices can wait for requests and price changes at once. The
// goroutine ends when the stream does.
func receiveIDs(stream catalogpb.Catalog_WatchPricesServer) (<-chan string, <-chan error) {
	ids := make(chan string)
	done := make(chan error, 1)
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				done <- err
				return
			}
			select {
			case ids <- req.GetId():
			case <-stream.Context().Done():
				return
			}
		}
	}()
	return ids, done
}
