package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/pylon-mesh/pylon/examples/shop/internal/flaky"
	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
)

// Level is the answer of GET /stock/{sku}.
type Level struct {
	SKU       string `json:"sku"`
	Available int    `json:"available"`
	Instance  string `json:"instance"`
}

// Reservation is the body of POST /reserve.
type Reservation struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Reserved is the answer of a successful POST /reserve.
type Reserved struct {
	SKU       string `json:"sku"`
	Qty       int    `json:"qty"`
	Remaining int    `json:"remaining"`
	Instance  string `json:"instance"`
}

// api serves the inventory's endpoints for one instance.
type api struct {
	stock    *stock
	instance string
}

// newHandler routes the API through the flaky middleware; /healthz stays
// out of it, so a flaky instance keeps passing its health checks and only
// callers' outlier detection notices it.
func newHandler(a *api, f flaky.Config) http.Handler {
	routes := http.NewServeMux()
	routes.HandleFunc("GET /stock/{sku}", a.level)
	routes.HandleFunc("POST /reserve", a.reserve)
	mux := http.NewServeMux()
	mux.Handle("/", f.Middleware(routes))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func (a *api) level(w http.ResponseWriter, r *http.Request) {
	sku := r.PathValue("sku")
	n, ok := a.stock.available(sku)
	if !ok {
		httpjson.Error(w, http.StatusNotFound, "unknown_sku", fmt.Sprintf("no sku %q", sku))
		return
	}
	httpjson.Write(w, http.StatusOK, Level{SKU: sku, Available: n, Instance: a.instance})
}

func (a *api) reserve(w http.ResponseWriter, r *http.Request) {
	var req Reservation
	if err := httpjson.Decode(r, &req); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if req.SKU == "" || req.Qty <= 0 {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", "a reservation needs a sku and a qty of at least 1")
		return
	}
	left, err := a.stock.reserve(req.SKU, req.Qty)
	switch {
	case errors.Is(err, errUnknownSKU):
		httpjson.Error(w, http.StatusNotFound, "unknown_sku", err.Error())
	case errors.Is(err, errNotEnough):
		httpjson.Error(w, http.StatusConflict, "insufficient_stock", err.Error())
	default:
		httpjson.Write(w, http.StatusOK, Reserved{SKU: req.SKU, Qty: req.Qty, Remaining: left, Instance: a.instance})
	}
}
