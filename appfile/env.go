package appfile

import "strings"

// The environment of an instance. The lifecycle manager of pylon up sets
// these for every instance, on top of its own environment and the
// service's env; a service's env may not set them.
const (
	// EnvPort is the variable holding the port the instance must listen
	// on, on 127.0.0.1; its sidecar forwards inbound traffic there.
	EnvPort = "PORT"
	// EnvService is the variable holding the instance's service name.
	EnvService = "PYLON_SERVICE"
	// EnvInstance is the variable holding the instance's name, unique in
	// the app, like orders-1.
	EnvInstance = "PYLON_INSTANCE"
)

// EnvName is the variable holding the address (127.0.0.1:<port>, the
// instance's sidecar's outbound port for that upstream) at which an
// instance reaches upstream: the name upper-cased, '-' and '.' turned into
// '_', then _ADDR. EnvName("catalog-v2") is "CATALOG_V2_ADDR".
func EnvName(upstream string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(upstream)) + "_ADDR"
}

// reserved reports whether the service's env may not set name because pylon
// up sets it: the fixed variables and the addresses of its upstreams.
func reserved(name string, upstreams []string) bool {
	switch name {
	case EnvPort, EnvService, EnvInstance:
		return true
	}
	for _, u := range upstreams {
		if EnvName(u) == name {
			return true
		}
	}
	return false
}
