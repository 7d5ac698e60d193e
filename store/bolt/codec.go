package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/pylon-mesh/pylon/store"
	"go.etcd.io/bbolt"
)

// The file's buckets: keys, leases (id → ttl) and meta (the counters).
var (
	kvBucket    = []byte("kv")
	leaseBucket = []byte("leases")
	metaBucket  = []byte("meta")
	revKey      = []byte("revision")
	leaseKey    = []byte("lease")
)

// recordHeader is the size of a record's fixed part: ModRevision,
// CreateRevision and Lease, 8 bytes each, before the value.
const recordHeader = 24

var errCorrupt = errors.New("corrupt record")

// encode lays out a key's record.
func encode(kv store.KV) []byte {
	b := make([]byte, recordHeader, recordHeader+len(kv.Value))
	binary.BigEndian.PutUint64(b[0:], uint64(kv.ModRevision))
	binary.BigEndian.PutUint64(b[8:], uint64(kv.CreateRevision))
	binary.BigEndian.PutUint64(b[16:], uint64(kv.Lease))
	return append(b, kv.Value...)
}

// decode reads a record, copying the value out of bbolt's memory.
func decode(key string, b []byte) (store.KV, error) {
	if len(b) < recordHeader {
		return store.KV{}, fmt.Errorf("decode key %q: %w", key, errCorrupt)
	}
	return store.KV{
		Key:            key,
		ModRevision:    int64(binary.BigEndian.Uint64(b[0:])),
		CreateRevision: int64(binary.BigEndian.Uint64(b[8:])),
		Lease:          store.LeaseID(binary.BigEndian.Uint64(b[16:])),
		Value:          bytesOrNil(b[recordHeader:]),
	}, nil
}

// bytesOrNil copies b, returning nil for an empty value.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func itob(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func btoi(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// load creates the buckets and reads the revision, the lease counter and
// the leases. A persisted lease's expiry restarts at now + its ttl.
func (s *Store) load() error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{kvBucket, leaseBucket, metaBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(metaBucket)
		s.rev, s.nextLease = btoi(meta.Get(revKey)), btoi(meta.Get(leaseKey))
		now := time.Now()
		err := tx.Bucket(leaseBucket).ForEach(func(k, v []byte) error {
			ttl := time.Duration(btoi(v))
			s.leases[store.LeaseID(btoi(k))] = &lease{ttl: ttl, expiry: now.Add(ttl), keys: map[string]struct{}{}}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(kvBucket).ForEach(func(k, v []byte) error {
			kv, err := decode(string(k), v)
			if l := s.leases[kv.Lease]; err == nil && l != nil {
				l.keys[kv.Key] = struct{}{}
			}
			return err
		})
	})
}
