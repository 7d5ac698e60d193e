package flow

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendJSON(t *testing.T) {
	type body struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	tests := []struct {
		name  string
		msg   string
		reqID string
	}{
		{"plain", "no route matches the request", "5f0c2a9e6b1d4c3a8e7f6a5b4c3d2e1f"},
		{"quotes and backslashes", `a "quoted" \path\`, `id"\`},
		{"newline and tab", "line1\nline2\tend\r", "id"},
		{"control bytes", "nul\x00 bell\x07 vt\x0b esc\x1b del\x7f", "id\x01"},
		{"non-ASCII", "héllo wörld 日本語 😀", "ïd"},
		{"line separators", "a\u2028b\u2029c", "id"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(404, CodeNoRoute, tc.msg)
			prefix := []byte("prefix")
			out := e.AppendJSON(prefix, []byte(tc.reqID))
			if got := string(out[:len(prefix)]); got != "prefix" {
				t.Fatalf("AppendJSON overwrote dst: got prefix %q, want %q", got, "prefix")
			}
			line := out[len(prefix):]
			if !json.Valid(line) {
				t.Fatalf("AppendJSON(%q) = %q: not valid JSON", tc.msg, line)
			}
			var got body
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("unmarshal %q: %v", line, err)
			}
			var want body
			want.Error.Code = "no_route"
			want.Error.Message = tc.msg
			want.Error.RequestID = tc.reqID
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendJSONInvalidUTF8(t *testing.T) {
	// The message may quote bytes from a hostile request; the body must stay
	// valid JSON even then.
	e := New(400, CodeBadRequest, "bad byte \xff\xfe here")
	out := e.AppendJSON(nil, []byte("id\xc3"))
	if !json.Valid(out) {
		t.Errorf("AppendJSON with invalid UTF-8 = %q: not valid JSON", out)
	}
}

func TestError(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"no cause", New(404, CodeNoRoute, "no route"), "no_route: no route"},
		{"with cause", Wrap(502, CodeUpstreamReset, "reset", cause), "upstream_reset: reset: unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
	if !errors.Is(Wrap(502, CodeUpstreamReset, "reset", cause), cause) {
		t.Errorf("errors.Is(Wrap(..., cause), cause) = false, want true")
	}
}

func TestAs(t *testing.T) {
	fe := New(413, CodeBodyTooLarge, "too big")
	wrapped := errors.Join(errors.New("reading body"), fe)
	if got := As(wrapped); got != fe {
		t.Errorf("As(wrapped *Error) = %v, want %v", got, fe)
	}
	plain := errors.New("boom")
	got := As(plain)
	if got.Err != plain {
		t.Errorf("As(plain error).Err = %v, want %v", got.Err, plain)
	}
	want := Error{Status: 500, Code: CodeInternal, Msg: "internal error"}
	if diff := cmp.Diff(want, Error{Status: got.Status, Code: got.Code, Msg: got.Msg}); diff != "" {
		t.Errorf("As(plain error) mismatch (-want +got):\n%s", diff)
	}
}
