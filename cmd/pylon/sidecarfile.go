package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/pylon-mesh/pylon/config"
)

// sidecarFile is what a `pylon sidecar --config FILE` file may hold: the
// sidecar's flags, each under its flag name with "_" for "-", and the
// upstreams as a mapping of names to addresses.
type sidecarFile struct {
	Control        []string          `yaml:"control"`
	JoinToken      string            `yaml:"join_token"`
	Service        string            `yaml:"service"`
	App            string            `yaml:"app"`
	Protocol       string            `yaml:"protocol"`
	Inbound        string            `yaml:"inbound"`
	Advertise      string            `yaml:"advertise"`
	Upstreams      map[string]string `yaml:"upstreams"`
	Proxy          string            `yaml:"proxy"`
	InstanceID     string            `yaml:"instance_id"`
	HealthHTTP     string            `yaml:"health_http"`
	HealthGRPC     string            `yaml:"health_grpc"`
	HealthInterval config.Duration   `yaml:"health_interval"`
	Admin          string            `yaml:"admin"`
	AccessLog      string            `yaml:"access_log"`
	DrainTimeout   config.Duration   `yaml:"drain_timeout"`
	DrainDelay     config.Duration   `yaml:"drain_delay"`
	LogLevel       string            `yaml:"log_level"`
	OTLPEndpoint   string            `yaml:"otlp_endpoint"`
	TraceSample    float64           `yaml:"trace_sample"`
}

// flagSource says where each flag's value came from, so an error about a
// value names the file, line and field it was written at, or the flag.
type flagSource struct {
	src *config.Source
	// fromFile maps a flag name to the file field that set it.
	fromFile map[string]string
}

// errorf describes a bad value of the flag name: at its place in the file
// when the file set it, as --name otherwise. A nil flagSource means no
// file.
func (fs *flagSource) errorf(name, format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	if fs != nil {
		if path, ok := fs.fromFile[name]; ok {
			return "pylon sidecar: " + fs.src.FieldError(path, msg).Error()
		}
	}
	return "pylon sidecar: --" + name + " " + msg
}

// applySidecarFile reads the file at path and sets every flag it holds
// that the command line did not set. Values are checked as the flags
// check them; errors name the file, line and field.
func applySidecarFile(fs *flag.FlagSet, path string) (*flagSource, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f sidecarFile
	src, err := config.DecodeStrict(path, data, &f)
	if err != nil {
		return nil, err
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { onCommandLine[fl.Name] = true })
	out := &flagSource{src: src, fromFile: map[string]string{}}
	var errs config.Errors
	set := func(name, field, value string) {
		if onCommandLine[name] {
			return
		}
		if err := fs.Set(name, value); err != nil {
			errs = append(errs, src.FieldError(field, err.Error()))
			return
		}
		out.fromFile[name] = field
	}
	fields := []struct {
		field, value string
	}{
		{"control", strings.Join(f.Control, ",")},
		{"join_token", f.JoinToken},
		{"service", f.Service},
		{"app", f.App},
		{"protocol", f.Protocol},
		{"inbound", f.Inbound},
		{"advertise", f.Advertise},
		{"proxy", f.Proxy},
		{"instance_id", f.InstanceID},
		{"health_http", f.HealthHTTP},
		{"health_grpc", f.HealthGRPC},
		{"health_interval", f.HealthInterval.Duration().String()},
		{"admin", f.Admin},
		{"access_log", f.AccessLog},
		{"drain_timeout", f.DrainTimeout.Duration().String()},
		{"drain_delay", f.DrainDelay.Duration().String()},
		{"log_level", f.LogLevel},
		{"otlp_endpoint", f.OTLPEndpoint},
		{"trace_sample", strconv.FormatFloat(f.TraceSample, 'g', -1, 64)},
	}
	for _, fl := range fields {
		if src.Written(fl.field) {
			set(strings.ReplaceAll(fl.field, "_", "-"), fl.field, fl.value)
		}
	}
	if !onCommandLine["upstream"] {
		names := make([]string, 0, len(f.Upstreams))
		for name := range f.Upstreams {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			field := "upstreams." + name
			if err := fs.Set("upstream", name+"="+f.Upstreams[name]); err != nil {
				errs = append(errs, src.FieldError(field, err.Error()))
				continue
			}
			out.fromFile["upstream"] = "upstreams"
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
