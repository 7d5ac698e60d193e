package resource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store"
)

// Change is one requested write to a resource.
type Change struct {
	Kind Kind
	Name string
	// Spec is the item as config JSON (from Decode); nil with Delete.
	Spec json.RawMessage
	// Delete removes the resource.
	Delete bool
	// IfVersion is the version the resource must still have: store.Any
	// (no condition), store.Absent (create only) or a version.
	IfVersion int64
}

// Actions an Outcome reports.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
	Deleted   = "deleted"
)

// Outcome is what a change did (or, in a dry run, would do).
type Outcome struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Action  string `json:"action"`
	Version int64  `json:"version,omitempty"`
	// Diff is the change to the resource as config YAML, in unified form.
	Diff string `json:"diff,omitempty"`
}

// Problem is one reason a write was refused.
type Problem struct {
	// Resource is "kind/name" of the resource at fault.
	Resource string `json:"resource"`
	// Path is the field path inside the resource (empty for the whole).
	Path string `json:"path,omitempty"`
	// Line and Column locate a problem in a request body (0 elsewhere).
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// InvalidError is a write refused because the config it would leave is
// not valid.
type InvalidError struct{ Problems []Problem }

// Error lists every problem, one per line.
func (e *InvalidError) Error() string {
	var b bytes.Buffer
	b.WriteString("invalid config:")
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s", p.Resource)
		if p.Path != "" {
			fmt.Fprintf(&b, ": %s", p.Path)
		}
		fmt.Fprintf(&b, ": %s", p.Message)
	}
	return b.String()
}

// MaxChanges is how many resources one write may change: each write is one
// store transaction, and etcd refuses transactions of more than 128
// operations by default.
const MaxChanges = 128

// Errors a write can fail with besides InvalidError.
var (
	// ErrTooMany: more than MaxChanges resources would change at once.
	ErrTooMany = errors.New("too many changes")
	// ErrNotFound: a delete, or a replace with a version, of a resource
	// that does not exist.
	ErrNotFound = errors.New("resource not found")
	// ErrStale: a resource's version is not the one the change named.
	ErrStale = errors.New("resource version is stale")
	// ErrConflict: other writers kept changing the resources while the
	// write was retried.
	ErrConflict = errors.New("resource write conflict")
	// ErrExists: a create of a resource that already exists.
	ErrExists = errors.New("resource already exists")
)

// Write applies changes atomically: all of them or none. The config they
// leave must validate; each change's IfVersion must hold. With dryRun it
// reports what would happen and writes nothing. Changes without a version
// condition are retried a few times when another writer got in between.
func Write(ctx context.Context, st store.Store, changes []Change, dryRun bool) ([]Outcome, error) {
	for attempt := 0; ; attempt++ {
		cur, err := Load(ctx, st)
		if err != nil {
			return nil, err
		}
		outs, ops, err := plan(cur, changes)
		if err != nil || dryRun || len(ops) == 0 {
			return outs, err
		}
		if len(ops) > MaxChanges {
			return nil, fmt.Errorf("%w: %d resources would change at once; at most %d can (one store transaction; etcd's default --max-txn-ops is 128): apply the file in parts",
				ErrTooMany, len(ops), MaxChanges)
		}
		rev, err := st.Txn(ctx, ops...)
		if errors.Is(err, store.ErrConflict) && attempt < 4 && unconditional(changes) {
			continue // someone else wrote in between: plan again on fresh state
		}
		if errors.Is(err, store.ErrConflict) && unconditional(changes) {
			return nil, fmt.Errorf("%w: other writes kept changing the resources; try again", ErrConflict)
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("%w: another write changed a resource first; read it again", ErrStale)
		}
		if err != nil {
			return nil, fmt.Errorf("write config resources: %w", err)
		}
		for i := range outs {
			if outs[i].Action != Unchanged && outs[i].Action != Deleted {
				outs[i].Version = rev
			}
		}
		return outs, nil
	}
}

func unconditional(changes []Change) bool {
	for _, c := range changes {
		if c.IfVersion != store.Any {
			return false
		}
	}
	return true
}

// plan checks changes against cur and returns their outcomes and the store
// operations, each conditioned on the version it was planned from.
func plan(cur *State, changes []Change) ([]Outcome, []store.Op, error) {
	next := cur.clone()
	outs := make([]Outcome, 0, len(changes))
	var ops []store.Op
	orders := map[string]int64{}
	for _, c := range changes {
		old, exists := cur.Get(c.Kind, c.Name)
		if err := precondition(c, old, exists); err != nil {
			return nil, nil, err
		}
		out := Outcome{Kind: c.Kind.Name, Name: c.Name}
		ifRev := store.Absent
		if exists {
			ifRev = old.Version
			out.Version = old.Version
		}
		if c.Delete {
			delete(next.items, c.Kind.Plural+"/"+c.Name)
			out.Action, out.Diff = Deleted, diff(old.Spec, nil)
			ops = append(ops, store.Op{Key: c.Kind.Key(c.Name), Delete: true, IfRevision: ifRev})
			outs = append(outs, out)
			continue
		}
		it := &Item{Kind: c.Kind, Name: c.Name, Spec: c.Spec}
		switch {
		case exists && bytes.Equal(old.Spec, c.Spec):
			out.Action = Unchanged
			outs = append(outs, out)
			continue
		case exists:
			it.Order, out.Action = old.Order, Updated
			out.Diff = diff(old.Spec, c.Spec)
		default:
			if orders[c.Kind.Plural] == 0 {
				orders[c.Kind.Plural] = cur.maxOrder(c.Kind)
			}
			orders[c.Kind.Plural]++
			it.Order, out.Action = orders[c.Kind.Plural], Created
			out.Diff = diff(nil, c.Spec)
		}
		next.items[c.Kind.Plural+"/"+c.Name] = it
		value, err := json.Marshal(stored{Order: it.Order, Spec: it.Spec})
		if err != nil {
			return nil, nil, fmt.Errorf("encode %s %s: %w", c.Kind.Name, c.Name, err)
		}
		ops = append(ops, store.Op{Key: c.Kind.Key(c.Name), Value: value, IfRevision: ifRev})
		outs = append(outs, out)
	}
	if err := check(next); err != nil {
		return nil, nil, err
	}
	return outs, ops, nil
}

func precondition(c Change, old *Item, exists bool) error {
	switch {
	case c.IfVersion == store.Absent && exists:
		return fmt.Errorf("%w: %s %q", ErrExists, c.Kind.Name, c.Name)
	case c.Delete && !exists, c.IfVersion > 0 && !exists:
		return fmt.Errorf("%w: %s %q", ErrNotFound, c.Kind.Name, c.Name)
	case c.IfVersion > 0 && old.Version != c.IfVersion:
		return fmt.Errorf("%w: %s %q is at version %d, not %d", ErrStale, c.Kind.Name, c.Name, old.Version, c.IfVersion)
	}
	return nil
}

// check validates the whole config s would be, naming each problem by its
// resource and the field path inside it.
func check(s *State) error {
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	err = cfg.ValidateMode(config.Stored)
	var errs config.Errors
	if err == nil || !errors.As(err, &errs) {
		return err
	}
	lists := map[string][]*Item{}
	for _, k := range Kinds {
		lists[k.Plural] = s.List(k)
	}
	problems := make([]Problem, 0, len(errs))
	for _, e := range errs {
		problems = append(problems, problemAt(lists, e))
	}
	return &InvalidError{Problems: problems}
}

var itemPath = regexp.MustCompile(`^([a-z_]+)\[(\d+)\]\.?(.*)$`)

// problemAt turns an error about "routes[2].service" in the assembled
// config into one about the route by its name.
func problemAt(lists map[string][]*Item, e *config.FieldError) Problem {
	m := itemPath.FindStringSubmatch(e.Path)
	if m == nil {
		return Problem{Resource: "config", Path: e.Path, Message: e.Msg}
	}
	i, _ := strconv.Atoi(m[2])
	items := lists[m[1]]
	if k, ok := KindOf(m[1]); ok && i < len(items) {
		return Problem{Resource: k.Name + "/" + items[i].Name, Path: m[3], Message: e.Msg}
	}
	return Problem{Resource: m[1], Path: e.Path, Message: e.Msg}
}
