// Package authz decides whether a mesh request or connection may reach a
// service, by the service's authorization policies (config.AuthorizationPolicy).
//
// Compile keeps the policies that select one service and compiles their
// identities, regexes and templates once; the Engine it returns is
// immutable, safe for concurrent use, and Decide does not allocate. The
// package does no I/O: the sidecar's inbound listener builds a Request from
// the peer's verified SPIFFE ID and the request, and renders the Decision
// (403 or PERMISSION_DENIED, a log line, a metric).
//
// The rules, which docs/configuration.md states for users:
//   - a service no policy selects allows everything;
//   - once a policy selects it, a request is allowed only if some allow
//     policy matches and no deny policy does (deny wins);
//   - a policy matches when any From entry matches (or it has none) and any
//     To entry matches (or it has none); within an entry every field given
//     must match;
//   - a TCP connection (Request.L4) never matches a To entry;
//   - a caller without an identity (plaintext in permissive mode) never
//     matches a From entry;
//   - namespaces and services are read from a source ID whose path is
//     /ns/<namespace>/svc/<service>; other IDs match only identities.
package authz
