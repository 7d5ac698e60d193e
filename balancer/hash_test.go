package balancer

import "testing"

// TestHashStable pins the hash values: gateways on other machines and other
// versions must send a key to the same endpoint, so changing the function is
// a breaking change that this test makes visible.
func TestHashStable(t *testing.T) {
	tests := []struct {
		key  string
		want uint64
	}{
		{"", 0xef46db3751d8e999},
		{"user-42", 0x397e9d3a76af7c81},
		{"10.0.0.1", 0xed16cb68c786e3d7},
	}
	for _, tc := range tests {
		if got := HashString(tc.key); got != tc.want {
			t.Errorf("HashString(%q): got %#x, want %#x", tc.key, got, tc.want)
		}
		if got := HashBytes([]byte(tc.key)); got != tc.want {
			t.Errorf("HashBytes(%q): got %#x, want %#x", tc.key, got, tc.want)
		}
	}
}

func TestNonZero(t *testing.T) {
	tests := []struct{ in, want uint64 }{{0, 1}, {1, 1}, {42, 42}, {^uint64(0), ^uint64(0)}}
	for _, tc := range tests {
		if got := nonZero(tc.in); got != tc.want {
			t.Errorf("nonZero(%d): got %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestHashNoAllocs(t *testing.T) {
	b := []byte("session=abc")
	s := "session=abc"
	if n := testing.AllocsPerRun(100, func() { HashBytes(b); HashString(s) }); n != 0 {
		t.Errorf("HashBytes and HashString: got %v allocations, want 0", n)
	}
}
