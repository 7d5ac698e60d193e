// Package h2server serves HTTP/2 connections (RFC 9113) for pylon's mesh
// listeners with as few goroutine hand-offs per request as the protocol
// allows: the goroutine that reads a request's HEADERS frame runs its
// handler, while a new goroutine takes over reading the connection, and
// handlers write their frames to the connection themselves. Framing and
// HPACK come from golang.org/x/net/http2; this package keeps the
// connection's state: streams, flow control, settings, GOAWAY.
package h2server
