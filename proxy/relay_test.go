package proxy

import "testing"

func TestOffered(t *testing.T) {
	for _, tc := range []struct {
		client, upstream string
		want             bool
	}{
		{"websocket", "websocket", true},
		{"websocket", "WebSocket", true},
		{"h2c, websocket", " websocket ", true},
		{"websocket", "h2c", false},
		{"websocket", "websocket, h2c", false},
		{"websocket", "", false},
		{"websocket", "websocket,", false},
		{"a, , b", "", false},
	} {
		if got := offered([]byte(tc.client), []byte(tc.upstream)); got != tc.want {
			t.Errorf("offered(%q, %q) = %v, want %v", tc.client, tc.upstream, got, tc.want)
		}
	}
}
