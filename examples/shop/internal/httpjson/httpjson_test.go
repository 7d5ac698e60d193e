package httpjson

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	type body struct {
		SKU string `json:"sku"`
	}
	tests := []struct {
		in      string
		want    body
		wantErr bool
	}{
		{in: `{"sku":"mug"}`, want: body{SKU: "mug"}},
		{in: `{"sku":"mug"}` + "\n", want: body{SKU: "mug"}},
		{in: `{"sku":"mug","qty":1}`, wantErr: true},
		{in: `{"sku":"mug"}{"sku":"cap"}`, wantErr: true},
		{in: `{"sku":`, wantErr: true},
		{in: ``, wantErr: true},
		{in: `{"sku":"` + strings.Repeat("x", MaxBody) + `"}`, wantErr: true},
	}
	for _, tc := range tests {
		var got body
		err := Decode(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.in)), &got)
		name := tc.in[:min(len(tc.in), 30)]
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: got error %v, want error: %v", name, err, tc.wantErr)
		}
		if diff := cmp.Diff(tc.want, got); err == nil && diff != "" {
			t.Errorf("%q: body (-want +got):\n%s", name, diff)
		}
	}
}

func TestError(t *testing.T) {
	rec := httptest.NewRecorder()
	Error(rec, http.StatusConflict, "insufficient_stock", "only 1 left")
	got := []string{rec.Result().Status, rec.Header().Get("Content-Type"), rec.Body.String()}
	want := []string{"409 Conflict", "application/json", `{"error":{"code":"insufficient_stock","message":"only 1 left"}}` + "\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}
