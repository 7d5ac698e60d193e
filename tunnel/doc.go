// Package tunnel carries TCP streams between sidecars as HTTP/2 CONNECT
// streams over the same pooled mTLS connections that carry L7 requests:
// the HBONE idea (HTTP-Based Overlay Network Environment).
//
// # Wire protocol
//
// A tunnel is one HTTP/2 stream on a connection between two sidecars:
//
//   - Transport: TLS 1.2 or later with ALPN "h2", both sides presenting
//     their SPIFFE X.509 SVIDs (mutual TLS), verified against the trust
//     bundle. The connection is pooled and shared: plain HTTP and gRPC
//     requests and any number of tunnels are multiplexed on it.
//   - Request: a HEADERS frame with the pseudo-headers ":method: CONNECT"
//     and ":authority: <destination>" and neither ":scheme" nor ":path"
//     (RFC 9113, section 8.5). The destination names what the remote
//     sidecar connects to: a service name or the app's host:port. A
//     "traceparent" field (W3C Trace Context), when present, names the
//     caller's span of the stream.
//   - Response: ":status: 200" once the remote sidecar has connected to the
//     destination; then DATA frames in both directions carry the stream's
//     bytes unchanged. Flow control is HTTP/2's, per stream and per
//     connection.
//   - Half-close: the caller ends its direction with END_STREAM on the
//     request; the remote sidecar then half-closes its TCP connection to
//     the destination (shutdown of the write side) and keeps relaying the
//     answer. When the destination ends its side, the remote sidecar ends
//     the response with END_STREAM and the tunnel is over (the remote
//     sidecar then resets a request side still open with NO_ERROR, as RFC
//     9113 section 8.1 allows).
//   - Errors: refusals are answered with a status and a short text body:
//     403 (not authorized), 405 (not CONNECT), 505 (CONNECT over HTTP/1,
//     which is not supported), 502 (the destination refused or failed the
//     connection), 504 (connecting to the destination timed out). A stream
//     that fails after the 200 is ended with RST_STREAM, which either side
//     sees as an error on Read or Write; a sidecar passes such a failure on
//     to its TCP connection as a reset, and a reset of that connection
//     fails the stream. An idle timeout ends the stream with RST_STREAM too,
//     and the TCP connections cleanly.
//
// # Use
//
// The calling sidecar calls [Dial] with its shared HTTP/2 transport and gets
// a [net.Conn]; the remote sidecar mounts [Handler] on its inbound listener.
// Both use [Splice] to join a tunnel with a local TCP connection.
//
// An Authorize hook that checks the caller's identity reads it from
// [http.Request.TLS], which pylon's HTTP/2 server (h2server) fills for
// CONNECT requests too (Go's own HTTP/2 server leaves it nil for them).
package tunnel
