//go:build linux

package main

import (
	"encoding/json"
	"fmt"
)

// Config resources as the admin API takes them (a subset of the config
// file's fields).
type (
	listener struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	}
	route struct {
		Name    string         `json:"name"`
		Match   map[string]any `json:"match"`
		Service string         `json:"service"`
	}
	service struct {
		Name      string   `json:"name"`
		Endpoints []string `json:"endpoints"`
	}
	document struct {
		Listeners []listener `json:"listeners"`
		Routes    []route    `json:"routes"`
		Services  []service  `json:"services"`
	}
)

// workload is the config the benchmark applies: one listener, and per
// service one route and E static endpoints.
type workload struct{ services []service }

func newWorkload(services, endpoints int) *workload {
	w := &workload{}
	for s := range services {
		svc := service{Name: serviceName(s)}
		for e := range endpoints {
			svc.Endpoints = append(svc.Endpoints, endpointAddr(s, e, 8080))
		}
		w.services = append(w.services, svc)
	}
	return w
}

func serviceName(s int) string { return fmt.Sprintf("svc-%03d", s) }

// endpointAddr is a distinct address per service and endpoint: the
// service in the middle octets, the endpoint in the last octet and, past
// 250, in the port.
func endpointAddr(s, e, port int) string {
	return fmt.Sprintf("10.%d.%d.%d:%d", s/250, s%250, e%250+1, port+e/250)
}

// servicesPerApply keeps each POST /v1/apply within the admin API's limit
// of 128 changed resources: a service and its route are two, and the
// first document also holds the listener.
const servicesPerApply = 60

// documents returns the whole config as JSON documents for POST
// /v1/apply, in order.
func (w *workload) documents() ([][]byte, error) {
	var out [][]byte
	for start := 0; start < len(w.services); start += servicesPerApply {
		d := document{Services: w.services[start:min(start+servicesPerApply, len(w.services))]}
		if start == 0 {
			d.Listeners = []listener{{Name: "web", Address: "127.0.0.1:8080"}}
		}
		for _, s := range d.Services {
			d.Routes = append(d.Routes, route{
				Name:    "to-" + s.Name,
				Match:   map[string]any{"path": map[string]string{"prefix": "/" + s.Name}},
				Service: s.Name,
			})
		}
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode the benchmark config: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// change moves the first endpoint of the first service to a port that
// round has not used, and returns the service to PUT.
func (w *workload) change(round int) service {
	s := &w.services[0]
	s.Endpoints[0] = endpointAddr(0, 0, 9000+round)
	return *s
}
