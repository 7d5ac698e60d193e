package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
)

// fakeCatalog sells mugs and stickers.
type fakeCatalog struct {
	catalogpb.UnimplementedCatalogServer
}

var fakeProducts = []*catalogpb.Product{
	{Id: "mug", Name: "Pylon mug", PriceCents: 1250, StockHint: 100},
	{Id: "sticker", Name: "Pylon sticker", PriceCents: 300, StockHint: 1000},
}

func (fakeCatalog) GetProduct(_ context.Context, req *catalogpb.GetProductRequest) (*catalogpb.Product, error) {
	for _, p := range fakeProducts {
		if p.GetId() == req.GetId() {
			return p, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "no product %q", req.GetId())
}

// ImportProducts counts the products it receives as added or updated, and
// refuses anvils.
func (fakeCatalog) ImportProducts(stream catalogpb.Catalog_ImportProductsServer) error {
	var sum catalogpb.ImportSummary
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&sum)
		}
		if err != nil {
			return err
		}
		switch {
		case p.GetId() == "anvil":
			return status.Error(codes.InvalidArgument, "no anvils")
		case slices.ContainsFunc(fakeProducts, func(q *catalogpb.Product) bool { return q.GetId() == p.GetId() }):
			sum.Updated++
		default:
			sum.Added++
		}
	}
}

func (fakeCatalog) ListProducts(_ *catalogpb.ListProductsRequest, stream catalogpb.Catalog_ListProductsServer) error {
	for _, p := range fakeProducts {
		if err := stream.Send(p); err != nil {
			return err
		}
	}
	return nil
}

// fakeOrders places orders for mugs only, and runs out of everything else.
func fakeOrders(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			SKU string `json:"sku"`
			Qty int    `json:"qty"`
		}
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/orders":
			httpjson.Error(w, http.StatusNotFound, "not_found", r.URL.Path)
		case httpjson.Decode(r, &req) != nil:
			httpjson.Error(w, http.StatusBadRequest, "bad_request", "bad body")
		case req.SKU != "mug":
			httpjson.Error(w, http.StatusConflict, "insufficient_stock", "not enough")
		default:
			httpjson.Write(w, http.StatusCreated, map[string]any{"id": "ord-1", "sku": req.SKU, "qty": req.Qty})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startStorefront serves a storefront calling fakeCatalog over gRPC on
// loopback, stopped at once when catalogDown, and orders at ordersURL.
func startStorefront(t *testing.T, ordersURL string, catalogDown bool) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	catalogpb.RegisterCatalogServer(gs, fakeCatalog{})
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	if catalogDown {
		gs.Stop()
	}
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	srv := httptest.NewServer(newHandler(&storefront{
		version: "v2",
		catalog: catalogpb.NewCatalogClient(conn),
		orders:  ordersURL,
		http:    &http.Client{},
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAPI(t *testing.T) {
	down := fakeOrders(t)
	down.Close()
	tests := []struct {
		name        string
		orders      string // default: a working fakeOrders
		catalogDown bool
		method      string
		path, body  string
		wantStatus  int
		want        map[string]any
		// anyMessage ignores the error's message (it names a random port).
		anyMessage bool
	}{
		{
			name: "list", method: http.MethodGet, path: "/api/products", wantStatus: http.StatusOK,
			want: map[string]any{"version": "v2", "products": []any{
				map[string]any{"id": "mug", "name": "Pylon mug", "price_cents": 1250.0, "stock_hint": 100.0},
				map[string]any{"id": "sticker", "name": "Pylon sticker", "price_cents": 300.0, "stock_hint": 1000.0},
			}},
		},
		{
			name: "one", method: http.MethodGet, path: "/api/products/mug", wantStatus: http.StatusOK,
			want: map[string]any{"version": "v2", "product": map[string]any{"id": "mug", "name": "Pylon mug", "price_cents": 1250.0, "stock_hint": 100.0}},
		},
		{
			name: "unknown", method: http.MethodGet, path: "/api/products/anvil", wantStatus: http.StatusNotFound,
			want: errorBody("unknown_product", `no product "anvil"`),
		},
		{
			name: "order", method: http.MethodPost, path: "/api/orders", body: `{"sku":"mug","qty":1}`, wantStatus: http.StatusCreated,
			want: map[string]any{"version": "v2", "order": map[string]any{"id": "ord-1", "sku": "mug", "qty": 1.0}},
		},
		{
			name: "order refused", method: http.MethodPost, path: "/api/orders", body: `{"sku":"hoodie","qty":1}`, wantStatus: http.StatusConflict,
			want: errorBody("insufficient_stock", "not enough"),
		},
		{
			name: "orders down", orders: down.URL, method: http.MethodPost, path: "/api/orders", body: `{"sku":"mug","qty":1}`, wantStatus: http.StatusBadGateway,
			want: map[string]any{"error": map[string]any{"code": "orders_unavailable"}}, anyMessage: true,
		},
		{
			name: "import", method: http.MethodPost, path: "/api/products", wantStatus: http.StatusCreated,
			body: `[{"id":"mug","name":"Pylon mug","price_cents":999,"stock_hint":100},{"id":"cap","name":"Pylon cap","price_cents":1800}]`,
			want: map[string]any{"version": "v2", "imported": 2.0, "added": 1.0, "updated": 1.0},
		},
		{
			name: "import refused by catalog", method: http.MethodPost, path: "/api/products", body: `[{"id":"anvil","price_cents":1}]`,
			wantStatus: http.StatusBadRequest, want: errorBody("bad_request", "no anvils"),
		},
		{
			name: "import without id", method: http.MethodPost, path: "/api/products", body: `[{"name":"nameless","price_cents":1}]`,
			wantStatus: http.StatusBadRequest, want: errorBody("bad_request", `product 0 (""): needs an id and a price_cents of at least 0`),
		},
		{
			name: "import negative price", method: http.MethodPost, path: "/api/products", body: `[{"id":"mug","price_cents":0},{"id":"cap","price_cents":-1}]`,
			wantStatus: http.StatusBadRequest, want: errorBody("bad_request", `product 1 ("cap"): needs an id and a price_cents of at least 0`),
		},
		{
			name: "import nothing", method: http.MethodPost, path: "/api/products", body: `[]`,
			wantStatus: http.StatusBadRequest, want: errorBody("bad_request", "no products: the body is a JSON array of products"),
		},
		{
			name: "import an object", method: http.MethodPost, path: "/api/products", body: `{"id":"mug"}`,
			wantStatus: http.StatusBadRequest, want: map[string]any{"error": map[string]any{"code": "bad_request"}}, anyMessage: true,
		},
		{
			name: "import unknown field", method: http.MethodPost, path: "/api/products", body: `[{"id":"mug","price":1}]`,
			wantStatus: http.StatusBadRequest, want: map[string]any{"error": map[string]any{"code": "bad_request"}}, anyMessage: true,
		},
		{
			name: "catalog down", catalogDown: true, method: http.MethodPost, path: "/api/products", body: `[{"id":"mug","price_cents":1}]`,
			wantStatus: http.StatusBadGateway, want: map[string]any{"error": map[string]any{"code": "catalog_unavailable"}}, anyMessage: true,
		},
		{name: "health", method: http.MethodGet, path: "/healthz", wantStatus: http.StatusOK, want: map[string]any{"status": "ok", "version": "v2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.orders == "" {
				tc.orders = fakeOrders(t).URL
			}
			srv := startStorefront(t, tc.orders, tc.catalogDown)
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if got, want := res.Header.Get("X-Storefront-Version"), "v2"; got != want {
				t.Errorf("got X-Storefront-Version %q, want %q", got, want)
			}
			if res.StatusCode != tc.wantStatus {
				t.Errorf("got status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			data, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("decoding %s: %v", data, err)
			}
			if tc.anyMessage {
				delete(got["error"].(map[string]any), "message")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func errorBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}
