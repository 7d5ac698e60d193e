package flow

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// grpcCodes are the gRPC status names used in docs/errors.md, by number.
var grpcCodes = map[string]int{
	"OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3,
	"DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5, "ALREADY_EXISTS": 6,
	"PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
	"ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13,
	"UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

// docRow is one row of the table in docs/errors.md.
type docRow struct {
	Status int
	GRPC   int
}

// readErrorsDoc parses the code table of docs/errors.md.
func readErrorsDoc(t *testing.T) map[Code]docRow {
	t.Helper()
	f, err := os.Open("../docs/errors.md")
	if err != nil {
		t.Fatalf("open errors doc: %v", err)
	}
	defer f.Close()
	rows := make(map[Code]docRow)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			t.Fatalf("errors doc row %q: want at least 4 cells", line)
		}
		code := Code(strings.Trim(strings.TrimSpace(cells[1]), "`"))
		status, err := strconv.Atoi(strings.TrimSpace(cells[2]))
		if err != nil {
			t.Fatalf("errors doc row %q: status: %v", line, err)
		}
		g, ok := grpcCodes[strings.TrimSpace(cells[3])]
		if !ok {
			t.Fatalf("errors doc row %q: unknown gRPC status %q", line, cells[3])
		}
		if _, dup := rows[code]; dup {
			t.Fatalf("errors doc lists %q twice", code)
		}
		rows[code] = docRow{Status: status, GRPC: g}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read errors doc: %v", err)
	}
	if len(rows) == 0 {
		t.Fatal("errors doc: no table rows found")
	}
	return rows
}

// declaredCodes returns every Code constant declared in flow.go, read from
// the source so that a new code cannot be added without a doc row.
func declaredCodes(t *testing.T) []Code {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "flow.go", nil, 0)
	if err != nil {
		t.Fatalf("parse flow.go: %v", err)
	}
	var codes []Code
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: Code constant is not a string literal", fset.Position(v.Pos()))
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatalf("%s: %v", fset.Position(v.Pos()), err)
				}
				codes = append(codes, Code(s))
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("flow.go: no Code constants found")
	}
	return codes
}

func TestCodesMatchErrorsDoc(t *testing.T) {
	doc := readErrorsDoc(t)
	declared := make(map[Code]bool)
	for _, c := range declaredCodes(t) {
		declared[c] = true
		row, ok := doc[c]
		if !ok {
			t.Errorf("code %q is declared in flow.go but missing from docs/errors.md", c)
			continue
		}
		e := New(row.Status, c, "msg")
		if got := e.GRPCStatus(); got != row.GRPC {
			t.Errorf("New(%d, %q).GRPCStatus() = %d, want %d (docs/errors.md)", row.Status, c, got, row.GRPC)
		}
	}
	for c := range doc {
		if !declared[c] {
			t.Errorf("code %q is in docs/errors.md but not declared in flow.go", c)
		}
	}
}

func TestGRPCStatusByHTTPStatus(t *testing.T) {
	// Codes without a mapping of their own follow gRPC's HTTP-to-gRPC table.
	tests := []struct {
		status int
		want   int
	}{
		{400, 13},
		{401, 16},
		{403, 7},
		{429, 14},
		{500, 13},
		{502, 14},
		{503, 14},
		{504, 4},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			e := New(tc.status, Code("policy_defined"), "msg")
			if got := e.GRPCStatus(); got != tc.want {
				t.Errorf("status %d: GRPCStatus() = %d, want %d", tc.status, got, tc.want)
			}
		})
	}
}

func TestGRPCMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		rid  string
		want string
	}{
		{"printable ASCII unchanged", "no route matches", "abc123",
			"no_route: no route matches (request_id abc123)"},
		{"percent", "100% sure", "r",
			"no_route: 100%25 sure (request_id r)"},
		{"control bytes", "a\nb\tc\x00\x1f", "r",
			"no_route: a%0Ab%09c%00%1F (request_id r)"},
		{"DEL and non-ASCII", "\x7fé日", "r",
			"no_route: %7F%C3%A9%E6%97%A5 (request_id r)"},
		{"space and tilde kept", " ~", "r",
			"no_route:  ~ (request_id r)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := New(404, CodeNoRoute, tc.msg).GRPCMessage([]byte(tc.rid))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GRPCMessage mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzGRPCMessage(f *testing.F) {
	f.Add("no route", "abc")
	f.Add("100% \x00\xff é", "r\n")
	f.Fuzz(func(t *testing.T, msg, rid string) {
		got := New(404, CodeNoRoute, msg).GRPCMessage([]byte(rid))
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("GRPCMessage(%q) = %q: byte %#x at %d is outside 0x20-0x7E", msg, got, c, i)
			}
		}
		dec, err := url.PathUnescape(got)
		if err != nil {
			t.Fatalf("GRPCMessage(%q) = %q: does not percent-decode: %v", msg, got, err)
		}
		if want := "no_route: " + msg + " (request_id " + rid + ")"; dec != want {
			t.Fatalf("decoded GRPCMessage = %q, want %q", dec, want)
		}
	})
}

func TestIsGRPC(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"application/grpc", true},
		{"application/grpc+proto", true},
		{"application/grpc+json", true},
		{"application/grpc;charset=utf-8", true},
		{"application/grpcx", false},
		{"application/grpc-web", false},
		{"application/gr", false},
		{"text/plain", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.ct, func(t *testing.T) {
			if got := IsGRPC([]byte(tc.ct)); got != tc.want {
				t.Errorf("IsGRPC(%q) = %v, want %v", tc.ct, got, tc.want)
			}
		})
	}
}
