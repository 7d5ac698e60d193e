// Package all registers every standard balancer: import it for its side
// effects.
//
//	import _ "github.com/pylon-mesh/pylon/balancer/all"
package all

import (
	// Each package registers its balancer in init.
	_ "github.com/pylon-mesh/pylon/balancer/leastrequest"
	_ "github.com/pylon-mesh/pylon/balancer/maglev"
	_ "github.com/pylon-mesh/pylon/balancer/peakewma"
	_ "github.com/pylon-mesh/pylon/balancer/random"
	_ "github.com/pylon-mesh/pylon/balancer/ringhash"
	_ "github.com/pylon-mesh/pylon/balancer/roundrobin"
	_ "github.com/pylon-mesh/pylon/balancer/weightedroundrobin"
)
