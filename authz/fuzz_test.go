package authz

import (
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/config"
)

// picker turns fuzz bytes into choices; it yields zeros once they run out.
type picker struct{ b []byte }

func (p *picker) next(n int) int {
	if len(p.b) == 0 {
		return 0
	}
	c := int(p.b[0])
	p.b = p.b[1:]
	return c % n
}

// pick chooses one of the pool or the free-form string s.
func (p *picker) pick(s string, pool ...string) string {
	if i := p.next(len(pool) + 1); i < len(pool) {
		return pool[i]
	}
	return s
}

// policies builds up to four policies of service s from p; the strings
// free and pattern are used where the pools offer nothing.
func (p *picker) policies(free, pattern string) []config.AuthorizationPolicy {
	var out []config.AuthorizationPolicy
	for i := range p.next(5) {
		a := config.AuthorizationPolicy{Name: string(rune('a' + i)), Service: p.pick(free, "s", "s", "t"), Action: p.pick(free, "allow", "deny")}
		for range p.next(3) {
			a.From = append(a.From, config.PolicySource{
				Identities: p.list(free, "spiffe://td/ns/a/svc/b", "spiffe://td/x"),
				Namespaces: p.list(free, "a", "default"),
				Services:   p.list(free, "b", "s"),
			})
		}
		for range p.next(3) {
			t := config.PolicyTarget{Methods: p.list(free, "GET", "POST")}
			for range p.next(3) {
				var pm config.PathMatch
				switch p.next(4) {
				case 0:
					pm.Exact = "/" + pattern
				case 1:
					pm.Prefix = p.pick("/"+pattern, "/", "/a/")
				case 2:
					pm.Regex = pattern
				default:
					pm.Template = p.pick("/"+pattern, "/{x}/b", "/a/{y}")
				}
				t.Paths = append(t.Paths, pm)
			}
			for range p.next(3) {
				vm := config.ValueMatch{Name: p.pick(free, "x-a", "X-B")}
				switch p.next(3) {
				case 0:
					vm.Exact = p.pick(free, "v")
				case 1:
					vm.Regex = pattern
				default:
					vm.Present = true
				}
				t.Headers = append(t.Headers, vm)
			}
			a.To = append(a.To, t)
		}
		out = append(out, a)
	}
	return out
}

func (p *picker) list(free string, pool ...string) []string {
	var out []string
	for range p.next(3) {
		out = append(out, p.pick(free, pool...))
	}
	return out
}

func FuzzDecide(f *testing.F) {
	f.Add([]byte{2, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0}, "s", "a/.*", "spiffe://td/ns/a/svc/b", "GET", "/a/b", "v", false)
	f.Add([]byte{4, 1, 1, 2, 1, 2, 2, 1, 3, 1, 1, 2, 0, 2, 1, 1, 0}, "x", "[a-z]+", "spiffe://td/x", "POST", "/x/b", "x", false)
	f.Add([]byte{1, 0, 0, 0, 1, 2, 2, 2}, "default", "(", "", "", "*", "", true)
	f.Add([]byte{3, 2, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, "{z}", "a{2,}", "spiffe://td/ns/default/svc/s", "PUT", "/", "vv", false)
	f.Fuzz(func(t *testing.T, choices []byte, free, pattern, source, method, path, value string, l4 bool) {
		p := &picker{b: choices}
		policies := p.policies(free, pattern)
		e, err := Compile("s", "", policies)
		if err != nil {
			return // malformed policies are refused, not evaluated
		}
		src, _ := spiffeid.FromString(source)
		hdr := func(name string) []string {
			if name == "x-a" || name == free {
				return []string{value, path}
			}
			return nil
		}
		r := Request{Source: src, L4: l4, Method: method, Path: path, Header: hdr}
		d := e.Decide(r)
		if again := e.Decide(r); again != d {
			t.Fatalf("Decide is not deterministic: %+v then %+v", d, again)
		}
		if !e.Selected() && !d.Allowed {
			t.Fatalf("a service no policy selects denied %+v: %+v", r, d)
		}
		if d.Policy == "" {
			return
		}
		for _, a := range policies {
			if a.Name == d.Policy && a.Service == "s" && (a.Action == config.PolicyAllow) == d.Allowed {
				return
			}
		}
		t.Fatalf("decision %+v names no selected policy with its action, of %+v", d, policies)
	})
}
