// Package ca is the control plane's certificate authority. It issues X.509
// SVIDs (spiffe://<trust-domain>/ns/<namespace>/svc/<service>) to workloads
// from their CSRs, so a workload's private key never leaves it, serves the
// trust bundle, and verifies the chains workloads present.
//
// # State
//
// The CA is two levels deep: a self-signed root and an intermediate that
// signs every leaf. Its state lives in the store under the key "ca/state"
// (JSON): the trusted roots, newest first, each with the intermediate it
// signed, the intermediate's private key sealed with AES-256-GCM under the
// key in Options.KeyFile, and the times it starts issuing and stops being
// trusted. A root's private key is used once, to sign its intermediate,
// and never stored. The store alone is therefore not enough to issue
// certificates: keep the key file apart from the store and its backups,
// and give every control plane replica the same one.
//
// The first replica to start creates the CA and writes it only if "ca/state"
// is still absent; a replica that loses that race reads the winner's CA, so
// replicas always share one CA. A replica whose key file does not open the
// stored key refuses to start.
//
// # Rotation
//
// Rotation has two phases, so that no data plane ever meets a certificate
// from a root it does not trust yet. Every time below is in the stored
// state, so every replica switches at the same moment (by its clock).
//
//  1. Rotate, on any one replica, adds a new root and intermediate as
//     "next": trusted at once (Roots, BundlePEM and Verify include it),
//     issuing from the activation, now+Propagation (default one minute).
//     The previous root, still "active", is scheduled to retire at
//     activation+Overlap (default twice LeafTTL, never less than LeafTTL).
//     Roots already retired are dropped.
//  2. During the propagation window the control plane pushes the new
//     bundle to the data planes with their config (it rebuilds the
//     snapshot when "ca/state" changes). Sign still issues from the old
//     intermediate, which every data plane trusts.
//  3. At the activation the new root becomes "active": Sign issues from its
//     intermediate, and the old root is "retiring". Workloads renew as usual
//     and get leaves from the new CA; leaves from the old one keep
//     verifying until they expire, which is before the overlap ends.
//  4. The control plane's own serving certificate (ServingCertificate) and
//     the pin in join tokens (Pin) stay on the oldest trusted root until it
//     retires: a data plane that was offline throughout the propagation
//     window still holds only the old root, by bundle or by join token,
//     and must be able to authenticate the control plane to receive the
//     new bundle. Only once the old root retires do they move to the new
//     root.
//  5. When the overlap ends, the old root drops out of Roots, BundlePEM and
//     Verify on every replica (checked against Options.Now at each call, with
//     or without Run), and Run removes it from the stored state, so that
//     watchers of "ca/state" (the control plane's snapshot builder) push
//     the smaller bundle; a rotation drops retired roots too.
//
// A data plane that was offline for the whole overlap cannot authenticate
// the control plane any more (its bundle and its join token name only the
// retired root): it must enroll again with a join token made after the
// overlap. Join tokens made before the old root retired pin it, so make new
// ones once Status shows a single root.
//
// The intermediate expires after IntermediateTTL (default one year) and
// leaves never outlive it, so leaves get shorter as it nears its end: rotate
// well before it expires, at least once a year with the defaults.
package ca
