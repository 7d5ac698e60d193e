package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
)

// callTimeout bounds each call to catalog and orders.
const callTimeout = 5 * time.Second

// Product is a catalog product as the storefront shows it.
type Product struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	StockHint  int32  `json:"stock_hint"`
}

func product(p *catalogpb.Product) Product {
	return Product{ID: p.GetId(), Name: p.GetName(), PriceCents: p.GetPriceCents(), StockHint: p.GetStockHint()}
}

// storefront is the public API of one storefront version.
type storefront struct {
	version string
	catalog catalogpb.CatalogClient
	orders  string // orders' base URL, like http://127.0.0.1:40123
	http    *http.Client
}

// newHandler serves the API. Every answer carries the version in the
// header X-Storefront-Version, and every successful body in "version", so
// the gateway's canary split shows in each response.
func newHandler(s *storefront) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/products", s.listProducts)
	mux.HandleFunc("POST /api/products", s.importProducts)
	mux.HandleFunc("GET /api/products/{id}", s.getProduct)
	mux.HandleFunc("POST /api/orders", s.placeOrder)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Storefront-Version", s.version)
		mux.ServeHTTP(w, r)
	})
}

// listProducts collects catalog's ListProducts stream.
func (s *storefront) listProducts(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	products, err := s.allProducts(ctx)
	if err != nil {
		httpjson.Error(w, http.StatusBadGateway, "catalog_unavailable", err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"version": s.version, "products": products})
}

func (s *storefront) allProducts(ctx context.Context) ([]Product, error) {
	stream, err := s.catalog.ListProducts(ctx, &catalogpb.ListProductsRequest{})
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	products := []Product{}
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return products, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
		products = append(products, product(p))
	}
}

func (s *storefront) getProduct(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	p, err := s.catalog.GetProduct(ctx, &catalogpb.GetProductRequest{Id: r.PathValue("id")})
	switch status.Code(err) {
	case codes.OK:
		httpjson.Write(w, http.StatusOK, map[string]any{"version": s.version, "product": product(p)})
	case codes.NotFound:
		httpjson.Error(w, http.StatusNotFound, "unknown_product", status.Convert(err).Message())
	default:
		httpjson.Error(w, http.StatusBadGateway, "catalog_unavailable", err.Error())
	}
}

// placeOrder hands the body to orders' POST /orders. A placed order is
// wrapped as {"version", "order"}; orders' errors pass through as they are.
func (s *storefront) placeOrder(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, httpjson.MaxBody))
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("read body: %v", err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	code, answer, err := s.postOrder(ctx, body)
	switch {
	case err != nil:
		httpjson.Error(w, http.StatusBadGateway, "orders_unavailable", err.Error())
	case code == http.StatusCreated:
		httpjson.Write(w, code, map[string]any{"version": s.version, "order": json.RawMessage(answer)})
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(answer)
	}
}

func (s *storefront) postOrder(ctx context.Context, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.orders+"/orders", bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("place order: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("place order: %w", err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, httpjson.MaxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("place order: read answer: %w", err)
	}
	return res.StatusCode, answer, nil
}
