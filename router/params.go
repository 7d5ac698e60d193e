package router

// MaxParams is the most template parameters a route may declare.
const MaxParams = 8

// Params holds the template parameters captured by Match. It has a fixed
// capacity so that matching does not allocate. Values alias the Input's Path
// and are valid as long as it is. The zero value is empty and ready to use.
type Params struct {
	n      int
	names  [MaxParams]string
	values [MaxParams][]byte
}

// Get returns the raw (still percent-encoded) value captured for name.
func (p *Params) Get(name string) ([]byte, bool) {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return p.values[i], true
		}
	}
	return nil, false
}

// Len returns the number of captured parameters.
func (p *Params) Len() int { return p.n }

// Name returns the name of parameter i, in template order.
func (p *Params) Name(i int) string { return p.names[i] }

// Value returns the raw value of parameter i, in template order.
func (p *Params) Value(i int) []byte { return p.values[i] }

// Reset empties p.
func (p *Params) Reset() {
	for i := 0; i < p.n; i++ {
		p.values[i] = nil
	}
	p.n = 0
}

// add appends one parameter; Compile guarantees it fits.
func (p *Params) add(name string, value []byte) {
	p.names[p.n] = name
	p.values[p.n] = value
	p.n++
}
