package ratelimit

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// DefaultMaxKeys is how many keys a Local keeps when NewLocal is given maxKeys <= 0.
const DefaultMaxKeys = 100000

// maxShards is how many independently locked shards a Local spreads its keys over.
const maxShards = 32

// Local is an in-process Limiter. It keeps one theoretical arrival time per
// key in shards locked separately, so requests on different keys rarely
// contend, and Allow does not allocate for a key it already holds.
//
// Memory is bounded: at most maxKeys keys in total. A key whose TAT is in the
// past carries no state and is dropped when its shard is full. If the shard is
// still full, or has just been swept with little gain, an arbitrary key is
// evicted; that key starts again with a full burst, so eviction errs on the
// side of allowing, never of refusing.
//
// A Local is safe for concurrent use. Make one with NewLocal; the zero value
// is not usable.
type Local struct {
	now    func() time.Time // the clock; tests set it
	epoch  time.Time        // TATs are nanoseconds since epoch, on the monotonic clock
	shards []shard
	perCap int // keys allowed per shard
}

// shard is one lock's worth of keys, padded so neighbouring shards' locks do
// not share a cache line.
type shard struct {
	mu     sync.Mutex
	tats   map[string]int64
	minTAT int64 // no TAT in tats is below this; a sweep before it frees nothing
	// skipSweeps counts full inserts left to make room by eviction alone,
	// after a sweep that freed little.
	skipSweeps int
	_          [32]byte
}

// NewLocal returns a Local that holds at most maxKeys keys (DefaultMaxKeys
// when maxKeys <= 0).
func NewLocal(maxKeys int) *Local {
	return newLocal(maxKeys, time.Now)
}

func newLocal(maxKeys int, now func() time.Time) *Local {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	n := 1
	for n*2 <= min(maxKeys, maxShards) {
		n *= 2
	}
	l := &Local{now: now, epoch: now(), shards: make([]shard, n), perCap: maxKeys / n}
	for i := range l.shards {
		l.shards[i].tats = make(map[string]int64)
		l.shards[i].minTAT = math.MaxInt64
	}
	return l
}

// Allow decides one request under key. Its only error is for an invalid
// limit (see Limit); ctx is unused, as nothing blocks.
func (l *Local) Allow(_ context.Context, key string, lim Limit) (Result, error) {
	emission, span, err := lim.interval()
	if err != nil {
		return Result{}, err
	}
	s := &l.shards[xxhash.Sum64String(key)&uint64(len(l.shards)-1)]
	s.mu.Lock()
	defer s.mu.Unlock()
	// Reading the clock under the lock decides a key's requests in the
	// order of their times, as Redis reads its clock inside the script;
	// otherwise a request timed just before one that took the lock first
	// could find the TAT ahead of it and be refused within its burst.
	now := int64(l.now().Sub(l.epoch))
	return s.allowLocked(key, now, emission, span, l.perCap), nil
}

func (s *shard) allowLocked(key string, now, emission, span int64, perCap int) Result {
	tat, ok := s.tats[key]
	if !ok {
		tat = now
	}
	next, r := gcra(tat, now, emission, span)
	switch {
	case !r.Allowed:
	case ok:
		s.tats[key] = next
	default:
		s.insertLocked(key, next, now, perCap)
	}
	return r
}

// insertLocked adds a new key, first making room when the shard is full. The
// key is cloned so the map does not pin a larger string it may be cut from.
func (s *shard) insertLocked(key string, tat, now int64, perCap int) {
	if len(s.tats) >= perCap {
		s.makeRoomLocked(now, perCap)
	}
	s.tats[strings.Clone(key)] = tat
	s.minTAT = min(s.minTAT, tat)
}

// makeRoomLocked frees one slot in a full shard: it sweeps out expired keys
// when some may have expired, and evicts an arbitrary key if that freed
// nothing. A sweep is a pass over the shard, so after one that freed less
// than a sixteenth of it the next perCap/16 slots come from eviction alone: a
// flood of new keys (client addresses, say) then costs a few steps per key on
// average, not a pass each.
func (s *shard) makeRoomLocked(now int64, perCap int) {
	switch {
	case s.skipSweeps > 0:
		s.skipSweeps--
	case now >= s.minTAT:
		if s.sweepLocked(now) < perCap/16 {
			s.skipSweeps = perCap / 16
		}
	}
	if len(s.tats) >= perCap {
		for k := range s.tats {
			delete(s.tats, k)
			break
		}
	}
}

// sweepLocked drops every key whose TAT is not after now (it carries no
// state), recomputes minTAT from the keys left, and returns how many it
// dropped.
func (s *shard) sweepLocked(now int64) int {
	n := len(s.tats)
	s.minTAT = math.MaxInt64
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
			continue
		}
		s.minTAT = min(s.minTAT, tat)
	}
	return n - len(s.tats)
}
