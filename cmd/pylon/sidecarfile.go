package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
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
	CPUs           int               `yaml:"cpus"`
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
	// Every field but upstreams is the flag of its name, "_" for "-".
	rv := reflect.ValueOf(f)
	for i := range rv.NumField() {
		field := rv.Type().Field(i).Tag.Get("yaml")
		name := strings.ReplaceAll(field, "_", "-")
		if field == "upstreams" || !src.Written(field) || onCommandLine[name] {
			continue
		}
		if err := fs.Set(name, flagValue(rv.Field(i).Interface())); err != nil {
			errs = append(errs, src.FieldError(field, err.Error()))
			continue
		}
		out.fromFile[name] = field
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

// flagValue is a sidecarFile field's value as its flag takes it.
func flagValue(v any) string {
	switch v := v.(type) {
	case []string:
		return strings.Join(v, ",")
	case config.Duration:
		return v.Duration().String()
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}
