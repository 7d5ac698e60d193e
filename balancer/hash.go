package balancer

import "github.com/cespare/xxhash/v2"

// HashBytes returns the affinity hash of b for the hashing pickers. It is
// xxhash64, so every process on every machine maps the same key to the same
// value and several gateways send a key to the same endpoint. It never
// returns 0, which Pick reads as "no key".
func HashBytes(b []byte) uint64 { return nonZero(xxhash.Sum64(b)) }

// HashString is HashBytes for a string, without converting it.
func HashString(s string) uint64 { return nonZero(xxhash.Sum64String(s)) }

// nonZero maps the one key hash that collides with "no key" elsewhere.
func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}
