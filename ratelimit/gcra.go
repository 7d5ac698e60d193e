package ratelimit

import "time"

// gcra decides one request at time now for a key whose theoretical arrival
// time is tat (now for a key without state), all in nanoseconds on one
// clock. It mirrors redis_rate's allowN Lua script with cost 1, in exact
// integers instead of float seconds, so Local and Redis agree: Remaining is
// the whole number of emission intervals left in the burst, RetryAfter is
// how far now is before the request's allowed time, and ResetAfter is how
// far the TAT is ahead of now. On refusal the TAT does not move (the script
// does not write), and newTAT is the unchanged tat.
func gcra(tat, now, emission, span int64) (newTAT int64, r Result) {
	tat = max(tat, now)
	next := tat + emission
	diff := now - (next - span)
	if diff < 0 {
		return tat, Result{RetryAfter: time.Duration(-diff), ResetAfter: time.Duration(tat - now)}
	}
	return next, Result{Allowed: true, Remaining: int(diff / emission), ResetAfter: time.Duration(next - now)}
}
