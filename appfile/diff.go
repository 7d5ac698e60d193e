package appfile

import (
	"encoding/json"
	"maps"
	"slices"
)

// Changes is what applying one app file over another changes, by service
// name: Added, Changed and Rescaled in the new file's order, Removed in the
// old one's.
type Changes struct {
	// Added services are new: start their instances.
	Added []string
	// Removed services are gone: stop their instances.
	Removed []string
	// Changed services differ in something their instances were started
	// with (command, protocol, health, env, dir, the set of upstreams, stop
	// timeout):
	// replace their instances. A replica change may come with it.
	Changed []string
	// Rescaled services differ only in Replicas: start or stop instances,
	// leaving the others running.
	Rescaled []string
	// Config reports whether the resources the control plane stores
	// (App.Config: services, gateway, policies) differ.
	Config bool
}

// Empty reports whether there is nothing to apply.
func (c Changes) Empty() bool {
	return len(c.Added)+len(c.Removed)+len(c.Changed)+len(c.Rescaled) == 0 && !c.Config
}

// Diff says what running b, the new app file, in place of a changes.
func (a *App) Diff(b *App) Changes {
	var c Changes
	old := map[string]*Service{}
	for i := range a.Services {
		old[a.Services[i].Name] = &a.Services[i]
	}
	for i := range b.Services {
		s := &b.Services[i]
		o, ok := old[s.Name]
		switch {
		case !ok:
			c.Added = append(c.Added, s.Name)
		case !sameStart(o, s):
			c.Changed = append(c.Changed, s.Name)
		case o.Replicas != s.Replicas:
			c.Rescaled = append(c.Rescaled, s.Name)
		}
		delete(old, s.Name)
	}
	for _, s := range a.Services {
		if _, gone := old[s.Name]; gone {
			c.Removed = append(c.Removed, s.Name)
		}
	}
	c.Config = !sameConfig(a, b)
	return c
}

// sameStart reports whether instances of a and b start the same way.
func sameStart(a, b *Service) bool {
	return slices.Equal(a.Command, b.Command) && a.Protocol == b.Protocol && a.Health == b.Health &&
		maps.Equal(a.Env, b.Env) && a.Dir == b.Dir && sameSet(a.Upstreams, b.Upstreams) &&
		a.StopTimeout == b.StopTimeout
}

// sameSet reports whether a and b hold the same names in any order: the
// order of upstreams does not change an instance's environment.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// sameConfig compares the stored resources by their JSON form, which
// leaves out where in the file each field was written.
func sameConfig(a, b *App) bool {
	ja, errA := json.Marshal(a.Config())
	jb, errB := json.Marshal(b.Config())
	return errA == nil && errB == nil && string(ja) == string(jb)
}
