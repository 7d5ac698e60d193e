package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
	"github.com/pylon-mesh/pylon/internal/redistest"
)

// fakeCatalog knows one product, the mug.
type fakeCatalog struct {
	catalogpb.UnimplementedCatalogServer
}

func (fakeCatalog) GetProduct(_ context.Context, req *catalogpb.GetProductRequest) (*catalogpb.Product, error) {
	if req.GetId() != "mug" {
		return nil, status.Errorf(codes.NotFound, "no product %q", req.GetId())
	}
	return &catalogpb.Product{Id: "mug", Name: "Pylon mug", PriceCents: 1250}, nil
}

// startCatalog serves fakeCatalog over gRPC on loopback and returns its
// address.
func startCatalog(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	catalogpb.RegisterCatalogServer(srv, fakeCatalog{})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// fakeInventory holds 3 mugs and answers as inventory does; fail makes it
// answer 503 like its flaky instance.
func fakeInventory(t *testing.T, fail bool) *httptest.Server {
	t.Helper()
	left := 3
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			SKU string `json:"sku"`
			Qty int    `json:"qty"`
		}
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/reserve":
			httpjson.Error(w, http.StatusNotFound, "not_found", r.URL.Path)
		case fail:
			httpjson.Error(w, http.StatusServiceUnavailable, "flaky", "failing on purpose")
		case httpjson.Decode(r, &req) != nil:
			httpjson.Error(w, http.StatusBadRequest, "bad_request", "bad body")
		case req.Qty > left:
			httpjson.Error(w, http.StatusConflict, "insufficient_stock", "not enough")
		default:
			left -= req.Qty
			httpjson.Write(w, http.StatusOK, map[string]any{"sku": req.SKU, "qty": req.Qty, "remaining": left, "instance": "inventory-1"})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startOrders serves the orders handler in front of the given upstreams,
// built as main builds it.
func startOrders(t *testing.T, catalogAddr, inventoryURL string, rdb *redis.Client) *httptest.Server {
	t.Helper()
	conn, err := grpc.NewClient(catalogAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	srv := httptest.NewServer(newHandler(&shop{
		catalog:   catalogpb.NewCatalogClient(conn),
		inventory: &inventoryClient{base: inventoryURL, http: &http.Client{}},
		book:      newBook(rdb),
		instance:  "orders-1",
		log:       slog.New(slog.DiscardHandler),
	}))
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, data
}

func decodeOrder(t *testing.T, data []byte) Order {
	t.Helper()
	var o Order
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatalf("decoding order %s: %v", data, err)
	}
	return o
}

// ignoreMinted ignores the fields each order gets anew.
var ignoreMinted = cmpopts.IgnoreFields(Order{}, "ID", "CreatedAt")

func TestPlaceAndShow(t *testing.T) {
	srv := startOrders(t, startCatalog(t), fakeInventory(t, false).URL, nil)
	status, body := send(t, http.MethodPost, srv.URL+"/orders", `{"sku":"mug","qty":2}`)
	if status != http.StatusCreated {
		t.Fatalf("got status %d (%s), want 201", status, body)
	}
	placed := decodeOrder(t, body)
	want := Order{SKU: "mug", Name: "Pylon mug", Qty: 2, UnitPriceCents: 1250, TotalCents: 2500, Instance: "orders-1", InventoryInstance: "inventory-1"}
	if diff := cmp.Diff(want, placed, ignoreMinted); diff != "" {
		t.Errorf("placed order (-want +got):\n%s", diff)
	}
	status, body = send(t, http.MethodGet, srv.URL+"/orders/"+placed.ID, "")
	if status != http.StatusOK {
		t.Fatalf("GET the order: got status %d (%s), want 200", status, body)
	}
	if diff := cmp.Diff(placed, decodeOrder(t, body)); diff != "" {
		t.Errorf("shown order (-want +got):\n%s", diff)
	}
}

func TestFailures(t *testing.T) {
	catalog := startCatalog(t)
	down := fakeInventory(t, false)
	down.Close()
	tests := []struct {
		name      string
		catalog   string
		inventory string
		method    string
		path      string
		body      string
		wantCode  int
		wantError string
	}{
		{name: "unknown product", inventory: fakeInventory(t, false).URL, body: `{"sku":"anvil","qty":1}`, wantCode: http.StatusNotFound, wantError: "unknown_product"},
		{name: "not enough stock", inventory: fakeInventory(t, false).URL, body: `{"sku":"mug","qty":4}`, wantCode: http.StatusConflict, wantError: "insufficient_stock"},
		{name: "inventory failing", inventory: fakeInventory(t, true).URL, body: `{"sku":"mug","qty":1}`, wantCode: http.StatusBadGateway, wantError: "inventory_unavailable"},
		{name: "inventory down", inventory: down.URL, body: `{"sku":"mug","qty":1}`, wantCode: http.StatusBadGateway, wantError: "inventory_unavailable"},
		{name: "catalog down", catalog: down.Listener.Addr().String(), inventory: fakeInventory(t, false).URL, body: `{"sku":"mug","qty":1}`, wantCode: http.StatusBadGateway, wantError: "catalog_unavailable"},
		{name: "no qty", inventory: fakeInventory(t, false).URL, body: `{"sku":"mug"}`, wantCode: http.StatusBadRequest, wantError: "bad_request"},
		{name: "not json", inventory: fakeInventory(t, false).URL, body: `sku=mug`, wantCode: http.StatusBadRequest, wantError: "bad_request"},
		{name: "unknown order", inventory: fakeInventory(t, false).URL, method: http.MethodGet, path: "/orders/ord-0", wantCode: http.StatusNotFound, wantError: "unknown_order"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.catalog == "" {
				tc.catalog = catalog
			}
			if tc.method == "" {
				tc.method, tc.path = http.MethodPost, "/orders"
			}
			srv := startOrders(t, tc.catalog, tc.inventory, nil)
			status, body := send(t, tc.method, srv.URL+tc.path, tc.body)
			var got httpjson.ErrorBody
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("decoding %s: %v", body, err)
			}
			if status != tc.wantCode || got.Error.Code != tc.wantError {
				t.Errorf("got %d %q (%s), want %d %q", status, got.Error.Code, got.Error.Message, tc.wantCode, tc.wantError)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	srv := startOrders(t, startCatalog(t), fakeInventory(t, false).URL, nil)
	if status, body := send(t, http.MethodGet, srv.URL+"/healthz", ""); status != http.StatusOK {
		t.Errorf("got status %d (%s), want 200", status, body)
	}
}

// TestRedis places an order on one orders instance with a real Redis: the
// order is published on the channel "orders", and another instance, which
// never saw it, shows it from Redis.
func TestRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub := rdb.Subscribe(ctx, Channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatalf("subscribing: %v", err)
	}
	catalog, inventory := startCatalog(t), fakeInventory(t, false).URL
	first := startOrders(t, catalog, inventory, rdb)
	second := startOrders(t, catalog, inventory, rdb)

	status, body := send(t, http.MethodPost, first.URL+"/orders", `{"sku":"mug","qty":1}`)
	if status != http.StatusCreated {
		t.Fatalf("got status %d (%s), want 201", status, body)
	}
	placed := decodeOrder(t, body)
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatalf("receiving the published order: %v", err)
	}
	if diff := cmp.Diff(placed, decodeOrder(t, []byte(msg.Payload))); diff != "" {
		t.Errorf("published order (-want +got):\n%s", diff)
	}
	status, body = send(t, http.MethodGet, second.URL+"/orders/"+placed.ID, "")
	if status != http.StatusOK {
		t.Fatalf("GET from the other instance: got status %d (%s), want 200", status, body)
	}
	if diff := cmp.Diff(placed, decodeOrder(t, body)); diff != "" {
		t.Errorf("order from redis (-want +got):\n%s", diff)
	}
}
