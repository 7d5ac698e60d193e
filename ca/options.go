package ca

import (
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Options configures an Authority. The zero value of each field except
// KeyFile means its default.
type Options struct {
	// TrustDomain is the SPIFFE trust domain of every identity the CA
	// issues. Empty means "pylon.local".
	TrustDomain string
	// KeyFile holds the AES-256 key (32 bytes, base64) that seals the CA's
	// private key in the store. If the file is missing it is created, with
	// mode 0600. Required.
	KeyFile string
	// Given, when set, is the root and intermediate to start with instead
	// of minting them, at first start; on a store that already holds a CA
	// it must be that CA's.
	Given *Given
	// LeafTTL is how long an issued leaf is valid. Zero means 12h.
	LeafTTL time.Duration
	// Skew backdates every certificate's NotBefore, for peers whose clocks
	// run behind. Zero means 5m.
	Skew time.Duration
	// RootTTL is the lifetime of a root. Zero means ten years.
	RootTTL time.Duration
	// IntermediateTTL is the lifetime of an intermediate, never beyond its
	// root's. Zero means one year.
	IntermediateTTL time.Duration
	// Propagation is how long after Rotate the new intermediate starts
	// issuing leaves: time for every data plane to receive the new trust
	// bundle first. Zero means one minute.
	Propagation time.Duration
	// Overlap is how long a root stays trusted after the root that
	// replaced it activated. It must be at least LeafTTL, so leaves issued
	// just before an activation stay valid for their whole life. Zero
	// means twice LeafTTL.
	Overlap time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// DefaultTrustDomain is the trust domain used when Options.TrustDomain is
// empty.
const DefaultTrustDomain = "pylon.local"

// withDefaults fills in the defaults and checks the options.
func (o Options) withDefaults() (Options, spiffeid.TrustDomain, error) {
	if o.KeyFile == "" {
		return o, spiffeid.TrustDomain{}, errors.New("a key file is required")
	}
	if o.TrustDomain == "" {
		o.TrustDomain = DefaultTrustDomain
	}
	td, err := spiffeid.TrustDomainFromString(o.TrustDomain)
	if err != nil {
		return o, td, fmt.Errorf("trust domain %q: %w", o.TrustDomain, err)
	}
	setDefault(&o.LeafTTL, 12*time.Hour)
	setDefault(&o.Skew, 5*time.Minute)
	setDefault(&o.RootTTL, 10*365*24*time.Hour)
	setDefault(&o.IntermediateTTL, 365*24*time.Hour)
	setDefault(&o.Propagation, time.Minute)
	setDefault(&o.Overlap, 2*o.LeafTTL)
	if o.Now == nil {
		o.Now = time.Now
	}
	for _, d := range []time.Duration{o.LeafTTL, o.Skew, o.RootTTL, o.IntermediateTTL, o.Propagation, o.Overlap} {
		if d < 0 {
			return o, td, fmt.Errorf("durations must not be negative, got %v", d)
		}
	}
	if o.Overlap < o.LeafTTL {
		return o, td, fmt.Errorf("overlap %v is shorter than the leaf lifetime %v: leaves issued just before a rotation's activation would stop verifying before they expire", o.Overlap, o.LeafTTL)
	}
	return o, td, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}
