// Package jwtauth verifies JWT bearer tokens for the gateway's authentication
// policies.
//
// A Verifier checks a compact JWS token against a key set read from a JWKS file
// or fetched from a JWKS URL, validates iss, aud, exp, nbf and iat, and returns
// the caller's identity from one claim. All JWS and JWK handling is done by
// go-jose; this package only selects keys, maps failures to stable reasons and
// keeps URL key sets fresh without making requests wait on the network.
//
// A token's kid selects the keys to try (keys published without kid match any
// kid); a token without kid tries every key that fits its alg.
//
// Key sets from a URL are cached. A set older than Config.Refresh is refetched
// in the background while requests keep using the cached one; a token whose kid
// is not in the set triggers one immediate refetch at most every 10 s; only a
// verifier that has never fetched its set makes requests wait for the network.
// Failed fetches keep the old set and are retried at most once a second.
//
// Tokens that passed are remembered (cache.go) so a client's repeated token
// is not checked again: by the SHA-256 of the whole token, for at most a
// minute, never past its exp, and only under the key set that verified it.
package jwtauth
