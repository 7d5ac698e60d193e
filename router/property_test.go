package router

import (
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// result is everything Match and MethodMismatch say about one input.
type result struct {
	Route    int
	OK       bool
	Params   []string
	Mismatch bool
}

// tableResult asks t about in.
func tableResult(t *Table, in *Input) result {
	var p Params
	idx, ok := t.Match(in, &p)
	return result{Route: idx, OK: ok, Params: paramList(&p), Mismatch: t.MethodMismatch(in)}
}

// refResult asks the reference about in.
func refResult(specs []Spec, in *Input) result {
	idx, params, ok := refMatch(specs, in, false)
	_, _, okAny := refMatch(specs, in, true)
	return result{Route: idx, OK: ok, Params: params, Mismatch: !ok && okAny}
}

func TestMatchAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for round := range 300 {
		specs := genSpecs(r, 1+r.Intn(30))
		tbl, err := Compile(specs)
		if err != nil {
			t.Fatalf("round %d: compile: %v", round, err)
		}
		for range 200 {
			in := genInput(r)
			got, want := tableResult(tbl, in), refResult(specs, in)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("round %d: host %q path %q query %q method %q headers %v: result mismatch (-want +got):\n%s\nspecs: %+v",
					round, in.Host, in.Path, in.Query, in.Method, in.Headers, diff, specs)
			}
		}
	}
}
