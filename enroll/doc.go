// Package enroll gives workloads their SPIFFE X.509 identity: the control
// plane's gRPC service pylon.control.v1.Identity signs certificate signing
// requests, and the data plane's Agent obtains, renews and serves the
// workload's certificate.
//
// A workload makes its own ECDSA P-256 key; the key never leaves it. On
// first contact it has no trust bundle, only a join token
// "<id>.<secret>.<pin>" printed by "pylon ctl token create": it sends
// "<id>.<secret>" with a CSR to a control plane whose certificate chain ends
// in the root whose SHA-256 is <pin>, and receives its certificate chain
// spiffe://<trust-domain>/ns/<namespace>/svc/<service> and the trust bundle.
// From then on it renews over mutual TLS, authenticated by its current
// certificate, at a fraction of the certificate's lifetime (half by
// default, with jitter). If the certificate has expired and renewal keeps
// failing, the agent tries the join token again.
//
// The control plane is always spiffe://<trust-domain>/control. TLS peer
// verification in both directions is done by this package, not by
// crypto/tls's hostname verification: SPIFFE identities live in URI SANs,
// and the trust bundle rotates without restarting listeners or clients.
//
// Design notes (2026-11): the service is a single unary method with JSON
// messages (internal/grpcjson), so it needs no generated code; the CA and
// the token store are reached through the small Signer and Tokens
// interfaces, so this package does not depend on their implementations.
package enroll
