package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// callTimeout bounds each call to catalog and inventory.
const callTimeout = 5 * time.Second

// shop places orders: it prices them with catalog, reserves their stock
// with inventory and keeps them in its book.
type shop struct {
	catalog   catalogpb.CatalogClient
	inventory *inventoryClient
	book      *book
	instance  string
	log       *slog.Logger
}

// failure is an order that could not be placed, with the answer it gets.
type failure struct {
	status int
	code   string
	err    error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// place prices qty units of sku, reserves them and records the order. Its
// errors are *failure.
func (s *shop) place(ctx context.Context, sku string, qty int) (Order, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	p, err := s.catalog.GetProduct(cctx, &catalogpb.GetProductRequest{Id: sku})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		return Order{}, &failure{http.StatusNotFound, "unknown_product", fmt.Errorf("price %q: %w", sku, err)}
	default:
		return Order{}, &failure{http.StatusBadGateway, "catalog_unavailable", fmt.Errorf("price %q: %w", sku, err)}
	}
	r, err := s.inventory.reserve(cctx, sku, qty)
	if err != nil {
		return Order{}, reserveFailure(err)
	}
	o := Order{
		ID: newID(), SKU: sku, Name: p.GetName(), Qty: qty,
		UnitPriceCents: p.GetPriceCents(), TotalCents: p.GetPriceCents() * int64(qty),
		CreatedAt: time.Now().UTC(), Instance: s.instance, InventoryInstance: r.Instance,
	}
	if err := s.book.add(ctx, o); err != nil {
		// The stock is reserved and the order kept here: it stands, only
		// the other instances and the feed will not see it.
		s.log.Warn("order placed but not shared", "order", o.ID, "err", err)
	}
	return o, nil
}

// reserveFailure turns inventory's refusal into the order's: its 409 and
// 404 are the client's problem, anything else is the upstream's.
func reserveFailure(err error) *failure {
	var ie *inventoryError
	if errors.As(err, &ie) {
		switch ie.status {
		case http.StatusConflict:
			return &failure{http.StatusConflict, "insufficient_stock", err}
		case http.StatusNotFound:
			return &failure{http.StatusNotFound, "unknown_product", err}
		}
	}
	return &failure{http.StatusBadGateway, "inventory_unavailable", err}
}
