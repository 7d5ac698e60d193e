package bolt

import (
	"fmt"
	"testing"

	"github.com/pylon-mesh/pylon/store"
)

func BenchmarkTxn(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			s, err := Open(b.TempDir()+"/pylon.db", Options{NoSync: !sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := b.Context()
			value := make([]byte, 256)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				op := store.Op{Key: fmt.Sprintf("k%d", i%1000), Value: value, IfRevision: store.Any}
				if _, err := s.Txn(ctx, op); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	s, err := Open(b.TempDir()+"/pylon.db", Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	if _, err := s.Txn(ctx, store.Op{Key: "k", Value: make([]byte, 256), IfRevision: store.Any}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTxnWatched measures a write with 100 watchers that keep up.
func BenchmarkTxnWatched(b *testing.B) {
	s, err := Open(b.TempDir()+"/pylon.db", Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	for range 100 {
		ch := s.Watch(ctx, "", 0)
		go func() {
			for range ch {
			}
		}()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Txn(ctx, store.Op{Key: "k", Value: []byte("v"), IfRevision: store.Any}); err != nil {
			b.Fatal(err)
		}
	}
}
