package adminapi

import (
	"context"
	"errors"
	"time"
)

// App is the app a local platform (`pylon up`) runs under this control
// plane: its processes, their events and output, and the operations on
// them. A control plane started by `pylon control` has none, and the
// /v1/app endpoints answer 404 no_app.
type App interface {
	// Processes lists every process of the app: instances (app and
	// sidecar), the gateway.
	Processes() []Process
	// Events returns the app's events, oldest first.
	Events() []Event
	// Logs returns the last tail lines of each process named by name (a
	// process like "orders-1" or "orders-1.sidecar", or a service, for
	// its instances' app processes) and, with follow, the lines that come
	// after, until ctx ends. ErrUnknownProcess when name names nothing.
	Logs(ctx context.Context, name string, tail int, follow bool) (<-chan LogLine, error)
	// Scale starts or stops instances of service until it has replicas.
	Scale(ctx context.Context, service string, replicas int) error
	// Restart replaces the instances of service one at a time, each new
	// one healthy before the next old one stops (no failed request).
	Restart(ctx context.Context, service string) error
	// Stop stops one instance (its sidecar first, then its app) and does
	// not start it again; the service has one replica fewer.
	Stop(ctx context.Context, instance string) error
	// Apply makes the app what the app file filename, holding content,
	// says, changing only what differs. An error wrapping ErrInvalidApp
	// (with the file's problems) means nothing was changed.
	Apply(ctx context.Context, filename string, content []byte) (AppChanges, error)
}

// AppChanges says what applying an app file changed.
type AppChanges struct {
	// Added services were started, Removed ones stopped.
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// Changed services had their instances replaced one at a time.
	Changed []string `json:"changed"`
	// Rescaled services only had instances started or stopped.
	Rescaled []string `json:"rescaled"`
	// Config reports that the gateway's listeners and routes, or the
	// policies, changed.
	Config bool `json:"config"`
}

// Errors an App returns, answered as 404, 400 and 422.
var (
	ErrUnknownProcess = errors.New("no such service, instance or process in the app")
	ErrBadScale       = errors.New("replicas out of range")
	ErrInvalidApp     = errors.New("the app file cannot be applied")
)

// Process is one process of the app.
type Process struct {
	// Name is the process's name in logs and events ("orders-1",
	// "orders-1.sidecar", "gateway").
	Name string `json:"name"`
	// Service is the service it belongs to; empty for the gateway.
	Service string `json:"service,omitempty"`
	// Instance is the instance it is part of ("orders-1"); empty for the
	// gateway.
	Instance string `json:"instance,omitempty"`
	// Kind is "app", "sidecar" or "gateway".
	Kind string `json:"kind"`
	// Pid is the running process's id; 0 while it is not running.
	Pid int `json:"pid"`
	// Health is the instance's health in the registry (app processes).
	Health string `json:"health,omitempty"`
	// Restarts counts the times it was started again.
	Restarts int `json:"restarts"`
}

// Event is something that happened to a process of the app.
type Event struct {
	Time    time.Time `json:"time"`
	Process string    `json:"process"`
	Message string    `json:"message"`
}

// LogLine is one line of a process's output.
type LogLine struct {
	Time    time.Time `json:"time"`
	Process string    `json:"process"`
	// Stream is "stdout" or "stderr".
	Stream string `json:"stream"`
	Text   string `json:"text"`
}
