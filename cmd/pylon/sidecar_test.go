package main

import "testing"

func TestSidecarProcs(t *testing.T) {
	tests := []struct {
		name     string
		cpus     int
		explicit bool
		env      string
		want     int
		set      bool
	}{
		{"default", 1, false, "", 1, true},
		{"GOMAXPROCS in the environment wins over the default", 1, false, "4", 0, false},
		{"--cpus wins over the environment", 2, true, "4", 2, true},
		{"--cpus 0 leaves Go's default", 0, true, "", 0, false},
	}
	for _, tt := range tests {
		n, set := sidecarProcs(tt.cpus, tt.explicit, tt.env)
		if n != tt.want || set != tt.set {
			t.Errorf("%s: sidecarProcs(%d, %v, %q) = %d, %v; want %d, %v", tt.name, tt.cpus, tt.explicit, tt.env, n, set, tt.want, tt.set)
		}
	}
}
