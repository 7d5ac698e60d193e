// Package storetest is the conformance suite every store backend passes:
// Run checks each behaviour store.Store documents, against fresh stores
// that the backend's test opens.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/store"
)

// timeout bounds every wait of the suite, so a broken backend fails rather
// than hangs.
const timeout = 15 * time.Second

// Run runs the suite. open returns a new, empty store for one subtest (for
// a shared server, one under its own key prefix) and arranges for it to be
// closed when the subtest ends; closing it again must do no harm. Subtests
// run one after another, so a backend whose revision counter is shared
// between the stores it opens still sees one transaction at a time.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"ListOrderAndPrefix", testList},
		{"Revisions", testRevisions},
		{"Conditions", testConditions},
		{"ConflictWritesNothing", testConflictWritesNothing},
		{"DuplicateKey", testDuplicateKey},
		{"ConcurrentTxn", testConcurrentTxn},
		{"WatchFromNow", testWatchFromNow},
		{"WatchResume", testWatchResume},
		{"WatchPrefixOnly", testWatchPrefix},
		{"WatchCancel", testWatchCancel},
		{"WatchSlowReader", testWatchSlowReader},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseKeepAlive", testLeaseKeepAlive},
		{"LeaseRevoke", testLeaseRevoke},
		{"LeaseDetach", testLeaseDetach},
		{"TxnDeadLease", testTxnDeadLease},
		{"Campaign", testCampaign},
		{"CampaignCancel", testCampaignCancel},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// ctx returns a context that ends with the test or after timeout.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return c
}

// put writes key unconditionally and returns the revision.
func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Txn(ctx(t), store.Op{Key: key, Value: []byte(value), IfRevision: store.Any})
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return rev
}

// del deletes key unconditionally and returns the revision.
func del(t *testing.T, s store.Store, key string) int64 {
	t.Helper()
	rev, err := s.Txn(ctx(t), store.Op{Key: key, Delete: true, IfRevision: store.Any})
	if err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
	return rev
}

// revision returns the store's current revision.
func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Txn(ctx(t))
	if err != nil {
		t.Fatalf("empty txn: %v", err)
	}
	return rev
}

// list returns the keys under prefix.
func list(t *testing.T, s store.Store, prefix string) []store.KV {
	t.Helper()
	kvs, _, err := s.List(ctx(t), prefix)
	if err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	return kvs
}
