// Package router compiles a listener's routes into an immutable Table and
// matches requests against it.
//
// A route matches on host, path, method, headers and query parameters. When
// several routes match, the most specific wins, by a fixed and documented
// precedence: host specificity, then path kind (exact, template, prefix,
// regex), then the number of other conditions, then file order. The full
// rules are in docs/routing.md.
//
// Design note (2026-08): Compile groups routes into one bucket per host key
// (exact name, wildcard suffix, or any host). Inside a bucket, exact paths
// live in a map, templates in a segment trie, prefixes in a map keyed by the
// prefix string and probed only at the prefix lengths that exist, and regexes
// in a list. Match walks those structures in precedence order and does not
// allocate unless a regex or a query condition is evaluated.
package router
