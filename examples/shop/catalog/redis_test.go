package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// TestInstancesShareRedis runs two instances on one Redis, as pylon up
// does: what one imports, the other serves, and its watchers hear of the
// price change once.
func TestInstancesShareRedis(t *testing.T) {
	rdb := startRedis(t)
	a := catalogpb.NewCatalogClient(startCatalog(t, newRedisStore(rdb, seed())))
	b := catalogpb.NewCatalogClient(startCatalog(t, newRedisStore(rdb, seed())))
	ctx := testContext(t)
	watch, err := b.WatchPrices(ctx)
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

	imports := []struct {
		via      catalogpb.CatalogClient
		products []*catalogpb.Product
		want     *catalogpb.ImportSummary
	}{
		{a, []*catalogpb.Product{{Id: "mug", PriceCents: 999}, {Id: "cap", Name: "Pylon cap", PriceCents: 1800}}, &catalogpb.ImportSummary{Added: 1, Updated: 1}},
		{b, []*catalogpb.Product{{Id: "mug", Name: "Pylon mug", PriceCents: 999}}, &catalogpb.ImportSummary{Updated: 1}}, // same price: no update
		{a, []*catalogpb.Product{{Id: "mug", PriceCents: 1100}}, &catalogpb.ImportSummary{Updated: 1}},
	}
	for i, imp := range imports {
		if diff := cmp.Diff(imp.want, importProducts(t, imp.via, imp.products), protocmp.Transform()); diff != "" {
			t.Errorf("import %d: summary (-want +got):\n%s", i, diff)
		}
	}
	var got []*catalogpb.PriceUpdate
	for range 2 {
		got = append(got, recv())
	}
	want := []*catalogpb.PriceUpdate{{Id: "mug", PriceCents: 999}, {Id: "mug", PriceCents: 1100}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("updates on the other instance (-want +got):\n%s", diff)
	}

	cp, err := b.GetProduct(ctx, &catalogpb.GetProductRequest{Id: "cap"})
	if err != nil {
		t.Fatalf("the cap imported on the other instance: %v", err)
	}
	if diff := cmp.Diff(&catalogpb.Product{Id: "cap", Name: "Pylon cap", PriceCents: 1800}, cp, protocmp.Transform()); diff != "" {
		t.Errorf("cap (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cap", "hoodie", "mug", "sticker", "tshirt"}, listIDs(t, b)); diff != "" {
		t.Errorf("product ids (-want +got):\n%s", diff)
	}
}

func importProducts(t *testing.T, c catalogpb.CatalogClient, products []*catalogpb.Product) *catalogpb.ImportSummary {
	t.Helper()
	stream, err := c.ImportProducts(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		if err := stream.Send(p); err != nil {
			t.Fatalf("sending %s: %v", p.GetId(), err)
		}
	}
	sum, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatalf("importing: %v", err)
	}
	return sum
}
