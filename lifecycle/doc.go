// Package lifecycle runs an app on one machine, for `pylon up`: the
// control plane in this process, then every instance of every service of
// an app file (package appfile) as a child process with its own `pylon
// sidecar`, then a `pylon gateway` in front of them; it restarts crashed
// instances with backoff, replaces those failing their health checks for
// too long, streams every process's output with a prefix naming it, and on
// shutdown stops them in order (the gateway first, then each sidecar
// before its app, the control plane last), draining as it goes.
//
// Processes are run by package supervise; the control plane is reached,
// like any client reaches it, through its admin API.
package lifecycle
