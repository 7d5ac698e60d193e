// Package ctl is `pylon ctl`, the command-line client of the control
// plane's admin API (package adminapi): kubectl-like verbs over config
// resources, instances, tokens, certificates and connected nodes, and
// docker-compose-like ones over the app `pylon up` runs.
//
// The commands:
//
//	pylon ctl get <kind> [name]          list a kind, or show one object
//	pylon ctl describe <kind> <name>     a config resource in full
//	pylon ctl apply -f FILE [--dry-run]  write a config document (-f - reads stdin)
//	pylon ctl delete <kind> <name>       delete a resource (or revoke a token)
//	pylon ctl token create --service S [--namespace N] [--uses N] [--ttl D] [--admin] [--description D]
//	pylon ctl token list | token revoke <id>
//	pylon ctl certs [rotate]
//	pylon ctl nodes
//
// And, against the app `pylon up` runs (a control plane without one
// answers no_app):
//
//	pylon ctl ps                         its processes: NAME, SERVICE, KIND, PID, HEALTH, RESTARTS
//	pylon ctl events [--since D]         what happened to them: TIME, PROCESS, MESSAGE
//	pylon ctl logs NAME [-f] [--tail N]  a process's, instance's or service's output, "name | text"
//	pylon ctl scale SERVICE=N            start or stop instances until the service has N
//	pylon ctl restart SERVICE            replace its instances one at a time, each healthy first
//	pylon ctl stop INSTANCE              stop one instance for good
//
// Kinds are listeners (listener), routes (route), services (service, svc),
// policies (policy, pol), consumers (consumer, cons),
// authorization_policies (authorization_policy, authz), instances
// (instance; the name is the service), tokens (token; the name is the id),
// nodes (node) and certs (cert). Consumers show only the SHA-256 of their
// API keys: the control plane never keeps the keys themselves.
//
// Global flags may come before or after the command: --server (env
// PYLON_SERVER, default http://127.0.0.1:15000), --token (env PYLON_TOKEN)
// or --token-file, -o/--output table|json|yaml (default table) and
// --timeout (default 10s; 10m for scale, restart and stop; for logs -f,
// how long the stream may take to open). json and yaml print the API's
// objects as it answered them (logs: one JSON object, or YAML document,
// per line).
//
// Stdout carries only the output asked for, so scripts can parse it: `token
// create` prints the secret alone on one line. Errors and notes go to
// stderr; an API error reads "error: <code>: <message>" followed by a line
// "  <resource>: <path>: <message>" per detail.
//
// Exit codes:
//
//	0  success
//	1  the server refused or failed the request (or a local file could not be read)
//	2  usage error
//	3  the server could not be reached, or did not answer within --timeout
package ctl
