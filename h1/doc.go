// Package h1 is Pylon's strict, allocation-free HTTP/1.1 message codec.
//
// It reads request and response heads into one buffer owned by a Reader
// and reused for the life of a connection, decodes bodies (fixed length,
// chunked, or delimited by close) and writes heads and chunked bodies with
// append-style helpers. It follows RFC 9112 and RFC 9110 and refuses, rather
// than repairs, anything that could be framed two ways: conflicting
// Content-Length and Transfer-Encoding, obfuscated transfer codings, bare LF
// or CR line endings, obs-fold, control bytes in fields, malformed chunk
// lines. Every refusal is an *Error with a status and a stable code; after a
// framing error the caller must close the connection.
//
// Slices in a parsed Request, Response or trailer section alias the Reader's
// buffer and stay valid until the next ReadRequest or ReadResponse call on
// that Reader; reading the body does not move them.
package h1
