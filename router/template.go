package router

import (
	"fmt"
	"strings"
)

// segment is one segment of a template: a literal, or a parameter when param
// is not empty.
type segment struct {
	literal string
	param   string
}

// parseTemplate splits a template such as "/users/{id}/items" into segments.
func parseTemplate(t string) ([]segment, error) {
	if !strings.HasPrefix(t, "/") {
		return nil, fmt.Errorf("template %q: must start with '/'", t)
	}
	var segs []segment
	var names []string
	for s := range strings.SplitSeq(t[1:], "/") {
		if !strings.ContainsAny(s, "{}") {
			segs = append(segs, segment{literal: s})
			continue
		}
		name, ok := strings.CutPrefix(s, "{")
		name, ok2 := strings.CutSuffix(name, "}")
		if !ok || !ok2 || name == "" || strings.ContainsAny(name, "{}") {
			return nil, fmt.Errorf("template %q: segment %q must be a literal or a whole {name}", t, s)
		}
		for _, n := range names {
			if n == name {
				return nil, fmt.Errorf("template %q: parameter %q repeated", t, name)
			}
		}
		names = append(names, name)
		segs = append(segs, segment{param: name})
	}
	if len(names) > MaxParams {
		return nil, fmt.Errorf("template %q: %d parameters, at most %d allowed", t, len(names), MaxParams)
	}
	return segs, nil
}

// literals counts the literal segments of a template, for precedence.
func literals(segs []segment) int {
	n := 0
	for _, s := range segs {
		if s.param == "" {
			n++
		}
	}
	return n
}

// capture fills p with the parameters of template segs taken from path,
// which the template is known to match.
func capture(segs []segment, path []byte, p *Params) {
	rest := path[1:]
	for _, s := range segs {
		seg, next, _ := cutByte(rest, '/')
		if s.param != "" {
			p.add(s.param, seg)
		}
		rest = next
	}
}

// tnode is a node of the template trie: one level per path segment.
type tnode struct {
	lit   map[string]*tnode
	param *tnode
	leaf  []*route // templates ending here, by rank
	min   int      // lowest rank in this subtree, for pruning
}

// insert adds r under its template.
func (n *tnode) insert(r *route) {
	n.min = min(n.min, r.rank)
	for _, s := range r.tmpl {
		n = n.child(s)
		n.min = min(n.min, r.rank)
	}
	n.leaf = append(n.leaf, r) // routes are inserted in rank order
}

// child returns, creating it if needed, the child for segment s.
func (n *tnode) child(s segment) *tnode {
	if s.param != "" {
		if n.param == nil {
			n.param = newTnode()
		}
		return n.param
	}
	if n.lit == nil {
		n.lit = make(map[string]*tnode)
	}
	c := n.lit[s.literal]
	if c == nil {
		c = newTnode()
		n.lit[s.literal] = c
	}
	return c
}

// newTnode returns an empty node.
func newTnode() *tnode { return &tnode{min: int(^uint(0) >> 1)} }

// tsearch is the state of one trie search: the request and the best route
// found so far.
type tsearch struct {
	in        *Input
	anyMethod bool
	best      *route
}

// bestRank returns the rank a route must beat.
func (s *tsearch) bestRank() int {
	if s.best == nil {
		return int(^uint(0) >> 1)
	}
	return s.best.rank
}

// search looks for templates matching rest, the path after a '/', below n.
func (n *tnode) search(rest []byte, s *tsearch) {
	if n.min >= s.bestRank() {
		return
	}
	seg, next, more := cutByte(rest, '/')
	if c := n.lit[string(seg)]; c != nil {
		c.visit(next, more, s)
	}
	if n.param != nil && len(seg) > 0 {
		n.param.visit(next, more, s)
	}
}

// visit continues a search at n, or ends it there when the path has no
// more segments.
func (n *tnode) visit(rest []byte, more bool, s *tsearch) {
	if more {
		n.search(rest, s)
		return
	}
	for _, r := range n.leaf {
		if r.rank >= s.bestRank() {
			return
		}
		if r.accepts(s.in, s.anyMethod) {
			s.best = r
			return
		}
	}
}
