package appfile

import "testing"

// FuzzParse checks that Parse never panics, and that every file it accepts
// gives an App that validates again and differs from itself in nothing.
func FuzzParse(f *testing.F) {
	f.Add(shop)
	f.Add(diffBase)
	f.Add(policiesBase)
	for _, tt := range invalidCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := Parse("app.yaml", []byte(in))
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("Parse accepted a file that Validate refuses: %v\n%s", err, in)
		}
		if c := a.Diff(a); !c.Empty() {
			t.Fatalf("an app differs from itself: %+v", c)
		}
	})
}
