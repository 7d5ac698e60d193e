package benchcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       Common
		wantN      int
		wantErr    bool
		wantStderr string
	}{
		{"defaults", nil, Common{Timeout: 5 * time.Minute}, 1, false, ""},
		{"all flags", []string{"--pylon", "/p", "--timeout", "1s", "--n", "3"}, Common{Pylon: "/p", Timeout: time.Second}, 3, false, ""},
		{"unknown flag", []string{"--nope"}, Common{Timeout: 5 * time.Minute}, 1, true, "flag provided but not defined"},
		{"zero timeout", []string{"--timeout", "0s"}, Common{}, 1, true, "b: check flags: --timeout must be positive\n"},
		{"check fails", []string{"--n", "0"}, Common{Timeout: 5 * time.Minute}, 0, true, "b: check flags: --n must be positive\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Common
			var n int
			var stderr strings.Builder
			err := Parse("b", tc.args, &stderr, &c, func(fs *flag.FlagSet) { fs.IntVar(&n, "n", 1, "a number") }, func() error {
				if n <= 0 {
					return errors.New("check flags: --n must be positive")
				}
				return nil
			})
			if (err != nil) != tc.wantErr {
				t.Errorf("got error %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, c); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
			if n != tc.wantN {
				t.Errorf("got --n %d, want %d", n, tc.wantN)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) || (tc.wantStderr == "" && stderr.Len() > 0) {
				t.Errorf("got stderr %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

// text is a Report that prints itself.
type text string

func (s text) Print(w io.Writer) { fmt.Fprint(w, string(s)) }

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		want       int
		wantStdout string
		wantStderr string
	}{
		{"success prints the report", nil, 0, "report", "progress\n"},
		{"failure prints the error", errors.New("broke"), 1, "", "progress\nb: broke\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			var deadline bool
			got := Run("b", time.Minute, &stdout, &stderr, func(ctx context.Context, progress io.Writer) (Report, error) {
				_, deadline = ctx.Deadline()
				fmt.Fprintln(progress, "progress")
				return text("report"), tc.err
			})
			type out struct {
				Status         int
				Stdout, Stderr string
				Deadline       bool
			}
			if diff := cmp.Diff(out{tc.want, tc.wantStdout, tc.wantStderr, true}, out{got, stdout.String(), stderr.String(), deadline}); diff != "" {
				t.Errorf("Run (-want +got):\n%s", diff)
			}
		})
	}
}
