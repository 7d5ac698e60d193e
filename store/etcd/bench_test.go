package etcd

import (
	"fmt"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/etcdtest"
	"github.com/pylon-mesh/pylon/store"
)

// BenchmarkTxn measures one write to a three-member cluster on loopback,
// and a read.
func BenchmarkTxn(b *testing.B) {
	c := etcdtest.StartCluster(b, 3)
	s, err := Open(b.Context(), c.Endpoints(), Options{SessionTTL: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	value := make([]byte, 256)
	b.Run("put", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Txn(ctx, store.Op{Key: fmt.Sprintf("k%d", i%1000), Value: value, IfRevision: store.Any}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Get(ctx, "k0"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
