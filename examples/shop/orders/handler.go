package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
)

// OrderRequest is the body of POST /orders.
type OrderRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

func newHandler(s *shop) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", s.create)
	mux.HandleFunc("GET /orders/{id}", s.show)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func (s *shop) create(w http.ResponseWriter, r *http.Request) {
	var req OrderRequest
	if err := httpjson.Decode(r, &req); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if req.SKU == "" || req.Qty <= 0 {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", "an order needs a sku and a qty of at least 1")
		return
	}
	o, err := s.place(r.Context(), req.SKU, req.Qty)
	var f *failure
	if errors.As(err, &f) {
		httpjson.Error(w, f.status, f.code, f.Error())
		return
	}
	w.Header().Set("Location", "/orders/"+o.ID)
	httpjson.Write(w, http.StatusCreated, o)
}

func (s *shop) show(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o, ok, err := s.book.get(r.Context(), id)
	switch {
	case err != nil:
		httpjson.Error(w, http.StatusBadGateway, "redis_unavailable", err.Error())
	case !ok:
		httpjson.Error(w, http.StatusNotFound, "unknown_order", fmt.Sprintf("no order %q", id))
	default:
		httpjson.Write(w, http.StatusOK, o)
	}
}
