package authz

import (
	"testing"

	"github.com/pylon-mesh/pylon/config"
)

// FuzzValidPoliciesCompile checks that every policy config validation
// accepts compiles, so a sidecar never refuses a config the control plane
// stored.
func FuzzValidPoliciesCompile(f *testing.F) {
	f.Add([]byte{1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0}, "spiffe://td/ns/a/svc/b", "/x")
	f.Add([]byte{1, 0, 0, 1, 1, 3, 0, 0, 0, 0}, "spiffe://td/a/../b", "[a-z]+")
	f.Add([]byte{1, 2, 0, 1, 1, 3, 0, 0, 0, 0}, "spiffe://td/A_b.c-d", "/{id}")
	f.Add([]byte{1, 2, 1, 0, 1, 1, 1, 0, 2, 0, 1, 1, 1}, "x", "/{a}/{a}")
	f.Fuzz(func(t *testing.T, choices []byte, free, pattern string) {
		p := &picker{b: choices}
		c := &config.Config{AuthorizationPolicies: p.policies(free, pattern)}
		c.SetDefaults()
		if c.ValidateMode(config.Stored) != nil {
			return
		}
		for _, svc := range []string{"s", "t", free} {
			if _, err := Compile(svc, "", c.AuthorizationPolicies); err != nil {
				t.Fatalf("policies config validation accepts do not compile: %v\n%+v", err, c.AuthorizationPolicies)
			}
		}
	})
}
