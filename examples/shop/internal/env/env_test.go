package env

import "testing"

func TestSettings(t *testing.T) {
	tests := []struct {
		name    string
		port    string
		inst    string
		want    string
		wantIns string
	}{
		{name: "alone", want: "127.0.0.1:9000", wantIns: "svc"},
		{name: "under pylon up", port: "41234", inst: "svc-2", want: "127.0.0.1:41234", wantIns: "svc-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PORT", tc.port)
			t.Setenv("PYLON_INSTANCE", tc.inst)
			if got := ListenAddr("9000"); got != tc.want {
				t.Errorf("ListenAddr: got %q, want %q", got, tc.want)
			}
			if got := Instance("svc"); got != tc.wantIns {
				t.Errorf("Instance: got %q, want %q", got, tc.wantIns)
			}
		})
	}
}
