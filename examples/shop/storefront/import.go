package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
)

// importProducts streams the body's products to catalog's client-streaming
// ImportProducts and answers 201 with how many were imported, of which how
// many were added and how many updated.
func (s *storefront) importProducts(w http.ResponseWriter, r *http.Request) {
	var products []Product
	if err := httpjson.Decode(r, &products); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := validate(products); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	sum, err := s.sendProducts(ctx, products)
	switch status.Code(err) {
	case codes.OK:
		httpjson.Write(w, http.StatusCreated, map[string]any{
			"version": s.version, "imported": len(products), "added": sum.GetAdded(), "updated": sum.GetUpdated(),
		})
	case codes.InvalidArgument:
		httpjson.Error(w, http.StatusBadRequest, "bad_request", status.Convert(err).Message())
	default:
		httpjson.Error(w, http.StatusBadGateway, "catalog_unavailable", err.Error())
	}
}

// validate refuses, before calling catalog, what catalog would refuse.
func validate(products []Product) error {
	if len(products) == 0 {
		return errors.New("no products: the body is a JSON array of products")
	}
	for i, p := range products {
		if p.ID == "" || p.PriceCents < 0 {
			return fmt.Errorf("product %d (%q): needs an id and a price_cents of at least 0", i, p.ID)
		}
	}
	return nil
}

// sendProducts is one ImportProducts call. Its error is a gRPC status:
// when a Send fails, the stream is broken and CloseAndRecv says why.
func (s *storefront) sendProducts(ctx context.Context, products []Product) (*catalogpb.ImportSummary, error) {
	stream, err := s.catalog.ImportProducts(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range products {
		err := stream.Send(&catalogpb.Product{Id: p.ID, Name: p.Name, PriceCents: p.PriceCents, StockHint: p.StockHint})
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}
