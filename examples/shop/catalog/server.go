package main

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// server implements catalogpb.CatalogServer over a store.
type server struct {
	catalogpb.UnimplementedCatalogServer
	store *store
}

// GetProduct is the unary call.
func (s *server) GetProduct(_ context.Context, req *catalogpb.GetProductRequest) (*catalogpb.Product, error) {
	p, ok := s.store.get(req.GetId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no product %q", req.GetId())
	}
	return p, nil
}

// ListProducts is the server-streaming call: one message per product.
func (s *server) ListProducts(_ *catalogpb.ListProductsRequest, stream catalogpb.Catalog_ListProductsServer) error {
	for _, p := range s.store.list() {
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
		if s.store.put(p) {
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
	updates, stop := s.store.watch()
	defer stop()
	ids, done := receiveIDs(stream)
	watched := map[string]bool{}
	for {
		select {
		case id := <-ids:
			p, ok := s.store.get(id)
			if !ok {
				return status.Errorf(codes.NotFound, "no product %q", id)
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
