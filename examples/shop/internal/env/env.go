// Package env reads the settings pylon up gives every instance of the
// example shop through its environment (PORT, PYLON_INSTANCE, <NAME>_ADDR;
// see docs/up.md), with defaults so a service also runs alone.
package env

import (
	"net"
	"os"
)

// Or returns the value of the environment variable name, or def when it is
// unset or empty.
func Or(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ListenAddr is the address an instance listens on: 127.0.0.1 and the port
// in PORT, or defPort when PORT is unset (a service run alone).
func ListenAddr(defPort string) string {
	return net.JoinHostPort("127.0.0.1", Or("PORT", defPort))
}

// Instance is the instance's name from PYLON_INSTANCE, like "inventory-2",
// or service when the service runs alone.
func Instance(service string) string {
	return Or("PYLON_INSTANCE", service)
}
