package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/internal/redistest"
)

// stores are the two ways an instance keeps its products; each test runs
// against both. The Redis one starts a redis-server for the test.
var stores = []struct {
	name string
	new  func(t *testing.T) products
}{
	{"memory", func(*testing.T) products { return newStore(seed()) }},
	{"redis", func(t *testing.T) products { return newRedisStore(startRedis(t), seed()) }},
}

// forEachStore runs test against a catalog of each kind in stores.
func forEachStore(t *testing.T, test func(t *testing.T, c catalogpb.CatalogClient)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			test(t, catalogpb.NewCatalogClient(startCatalog(t, st.new(t))))
		})
	}
}

func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// startCatalog serves st on loopback as main does and returns a connection
// to it; the server is shut down gracefully at cleanup.
func startCatalog(t *testing.T, st products) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, hs := newGRPCServer(st)
	done := make(chan error, 1)
	go func() { done <- serveGRPC(ctx, ln, srv, hs, slog.New(slog.DiscardHandler)) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveGRPC: got %v, want nil after a graceful stop", err)
		}
	})
	return conn
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGetProduct(t *testing.T) { forEachStore(t, testGetProduct) }

func testGetProduct(t *testing.T, c catalogpb.CatalogClient) {
	tests := []struct {
		id       string
		want     *catalogpb.Product
		wantCode codes.Code
	}{
		{id: "mug", want: &catalogpb.Product{Id: "mug", Name: "Pylon mug", PriceCents: 1250, StockHint: 100}},
		{id: "anvil", wantCode: codes.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			got, err := c.GetProduct(testContext(t), &catalogpb.GetProductRequest{Id: tc.id})
			if code := status.Code(err); code != tc.wantCode {
				t.Fatalf("got code %v (%v), want %v", code, err, tc.wantCode)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("product (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListProducts(t *testing.T) { forEachStore(t, testListProducts) }

func testListProducts(t *testing.T, c catalogpb.CatalogClient) {
	if diff := cmp.Diff([]string{"hoodie", "mug", "sticker", "tshirt"}, listIDs(t, c)); diff != "" {
		t.Errorf("product ids (-want +got):\n%s", diff)
	}
}

// listIDs collects the ids ListProducts streams.
func listIDs(t *testing.T, c catalogpb.CatalogClient) []string {
	t.Helper()
	stream, err := c.ListProducts(testContext(t), &catalogpb.ListProductsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatalf("receiving products: %v", err)
		}
		got = append(got, p.GetId())
	}
}

func TestImportProducts(t *testing.T) { forEachStore(t, testImportProducts) }

func testImportProducts(t *testing.T, c catalogpb.CatalogClient) {
	ctx := testContext(t)
	stream, err := c.ImportProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*catalogpb.Product{
		{Id: "mug", Name: "Pylon mug", PriceCents: 999, StockHint: 100},
		{Id: "cap", Name: "Pylon cap", PriceCents: 1800, StockHint: 20},
	} {
		if err := stream.Send(p); err != nil {
			t.Fatalf("sending %s: %v", p.GetId(), err)
		}
	}
	sum, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&catalogpb.ImportSummary{Added: 1, Updated: 1}, sum, protocmp.Transform()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	mug, err := c.GetProduct(ctx, &catalogpb.GetProductRequest{Id: "mug"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mug.GetPriceCents(), int64(999); got != want {
		t.Errorf("got mug at %d cents after the import, want %d", got, want)
	}
}

func TestImportRejectsProductWithoutID(t *testing.T) {
	forEachStore(t, testImportRejectsProductWithoutID)
}

func testImportRejectsProductWithoutID(t *testing.T, c catalogpb.CatalogClient) {
	stream, err := c.ImportProducts(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&catalogpb.Product{Name: "nameless"}); err != nil {
		t.Fatal(err)
	}
	_, err = stream.CloseAndRecv()
	if got, want := status.Code(err), codes.InvalidArgument; got != want {
		t.Errorf("got code %v (%v), want %v", got, err, want)
	}
}

func TestWatchPrices(t *testing.T) { forEachStore(t, testWatchPrices) }

func testWatchPrices(t *testing.T, c catalogpb.CatalogClient) {
	ctx := testContext(t)
	watch, err := c.WatchPrices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Send(&catalogpb.WatchRequest{Id: "mug"}); err != nil {
		t.Fatal(err)
	}
	recv := func() *catalogpb.PriceUpdate {
		t.Helper()
		u, err := watch.Recv()
		if err != nil {
			t.Fatalf("receiving a price: %v", err)
		}
		return u
	}
	if diff := cmp.Diff(&catalogpb.PriceUpdate{Id: "mug", PriceCents: 1250}, recv(), protocmp.Transform()); diff != "" {
		t.Errorf("first answer (-want +got):\n%s", diff)
	}
	// A change of an unwatched product is not sent; the mug's is.
	imp, err := c.ImportProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*catalogpb.Product{{Id: "sticker", PriceCents: 1}, {Id: "mug", PriceCents: 1100}} {
		if err := imp.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := imp.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&catalogpb.PriceUpdate{Id: "mug", PriceCents: 1100}, recv(), protocmp.Transform()); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
	if err := watch.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("got %v after closing the watch, want io.EOF", err)
	}
}

func TestWatchUnknownProduct(t *testing.T) { forEachStore(t, testWatchUnknownProduct) }

func testWatchUnknownProduct(t *testing.T, c catalogpb.CatalogClient) {
	watch, err := c.WatchPrices(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Send(&catalogpb.WatchRequest{Id: "anvil"}); err != nil {
		t.Fatal(err)
	}
	_, err = watch.Recv()
	if got, want := status.Code(err), codes.NotFound; got != want {
		t.Errorf("got code %v (%v), want %v", got, err, want)
	}
}

func TestHealth(t *testing.T) {
	res, err := healthpb.NewHealthClient(startCatalog(t, newStore(seed()))).Check(testContext(t), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.GetStatus(), healthpb.HealthCheckResponse_SERVING; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}
