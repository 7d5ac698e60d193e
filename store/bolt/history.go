package bolt

import (
	"fmt"
	"sort"

	"github.com/pylon-mesh/pylon/store"
)

// history keeps the last max transactions, oldest first, for watches that
// resume from a past revision. It holds every transaction after floor.
type history struct {
	max   int
	floor int64
	txns  []store.WatchResponse
}

// add appends a transaction, forgetting the oldest beyond max.
func (h *history) add(r store.WatchResponse) {
	h.txns = append(h.txns, r)
	if len(h.txns) > h.max {
		h.floor = h.txns[0].Revision
		h.txns[0] = store.WatchResponse{}
		h.txns = h.txns[1:]
	}
}

// since returns the transactions after rev, or ErrCompacted if some of
// them are no longer kept.
func (h *history) since(rev int64) ([]store.WatchResponse, error) {
	if rev < h.floor {
		return nil, fmt.Errorf("watch from revision %d (history starts after %d): %w", rev, h.floor, store.ErrCompacted)
	}
	i := sort.Search(len(h.txns), func(i int) bool { return h.txns[i].Revision > rev })
	return h.txns[i:], nil
}
