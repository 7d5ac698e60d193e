// Package ca is the control plane's certificate authority. It issues X.509
// SVIDs (spiffe://<trust-domain>/ns/<namespace>/svc/<service>) to workloads
// from their CSRs, so a workload's private key never leaves it, serves the
// trust bundle, and verifies the chains workloads present.
//
// # State
//
// The CA is two levels deep: a self-signed root and an intermediate that
// signs every leaf. Its state lives in the store under the key "ca/state"
// (JSON): the trusted roots, current first, each with the time it retires;
// the current intermediate certificate; and the intermediate's private key,
// sealed with AES-256-GCM under the key in Options.KeyFile. The root's
// private key is used once, to sign the intermediate, and never stored. The
// store alone is therefore not enough to issue certificates: keep the key
// file apart from the store and its backups, and give every control plane
// replica the same one.
//
// The first replica to start creates the CA and writes it only if "ca/state"
// is still absent; a replica that loses that race reads the winner's CA, so
// replicas always share one CA. A replica whose key file does not open the
// stored key refuses to start.
//
// # Rotation
//
// Rotate replaces the root and the intermediate at once. The procedure:
//
//  1. Call Rotate on any one replica. It writes a new root and intermediate
//     as current and keeps the previous root trusted until now+Overlap
//     (default twice LeafTTL). Roots already retired are dropped.
//  2. Every replica running Run reloads the new state within moments of the
//     write; from then on Sign and ServingCertificate use the new
//     intermediate, and Roots and BundlePEM list both roots, new first.
//  3. Push the new bundle to the data planes with their config (the push
//     server reads BundlePEM). Until a data plane has it, a leaf from the new
//     CA does not verify there; keep this window short by pushing at once.
//  4. Workloads renew their leaves as usual (at about 70% of LeafTTL) and get
//     leaves from the new CA. Leaves from the old CA keep verifying until the
//     overlap ends; with the default Overlap every one of them has expired
//     by then.
//  5. When the overlap ends, the old root drops out of Roots, BundlePEM and
//     Verify on every replica (checked against Options.Now at each call, with
//     or without Run), and out of the stored state at the next rotation.
//
// Join tokens that pin the control plane by Pin pin the root that was
// current when they were made: make new ones after a rotation.
//
// The intermediate expires after IntermediateTTL (default one year) and
// leaves never outlive it, so leaves get shorter as it nears its end: rotate
// well before it expires, at least once a year with the defaults.
package ca
