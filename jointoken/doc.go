// Package jointoken keeps the control plane's bearer tokens: join tokens, with
// which a workload gets its first certificate, and admin tokens, which
// authenticate callers of the admin API.
//
// A token's secret is "<id>.<secret>": an id of 8 lowercase hex digits, which
// names the token (it is not secret: List shows it, and Revoke takes it),
// then 32 random bytes in unpadded base64url. Only the secret's SHA-256 is
// stored, under "tokens/<id>"; the secret itself is shown once, by Create.
//
// Every way a secret can fail to name a token of the asked kind (malformed,
// unknown id, wrong secret, other kind) is the one error ErrInvalid, so a
// caller learns nothing about which part was wrong. Only a caller who holds
// the right secret learns that its token expired (ErrExpired) or has no uses
// left (ErrUsedUp).
//
// Redeem consumes one use of a token atomically (a conditional write, retried
// on conflict), so a token with MaxUses 1 admits exactly one redeemer however
// many race. Check only looks, and caches what it verified for at most
// CacheTTL (one second): a token revoked through this Manager stops working
// at once, one revoked through another replica within CacheTTL.
package jointoken
