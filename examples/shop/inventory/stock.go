package main

import (
	"errors"
	"fmt"
	"sync"
)

// errUnknownSKU and errNotEnough are what a reservation can run into.
var (
	errUnknownSKU = errors.New("unknown sku")
	errNotEnough  = errors.New("not enough stock")
)

// stock counts the units of each SKU in memory; it is safe for concurrent
// use. Each instance has its own stock: this is a demo of the mesh, not of
// a database.
type stock struct {
	mu    sync.Mutex
	units map[string]int
}

func newStock(units map[string]int) *stock {
	s := &stock{units: make(map[string]int, len(units))}
	for sku, n := range units {
		s.units[sku] = n
	}
	return s
}

// seedStock is what an instance starts with; the SKUs are the catalog's
// product ids.
func seedStock() map[string]int {
	return map[string]int{"hoodie": 10, "mug": 100, "sticker": 1000, "tshirt": 50}
}

// available returns the units of sku, and whether sku is stocked at all.
func (s *stock) available(sku string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.units[sku]
	return n, ok
}

// reserve takes qty units of sku and returns how many are left.
func (s *stock) reserve(sku string, qty int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.units[sku]
	switch {
	case !ok:
		return 0, fmt.Errorf("reserve %d of %q: %w", qty, sku, errUnknownSKU)
	case n < qty:
		return n, fmt.Errorf("reserve %d of %q: only %d left: %w", qty, sku, n, errNotEnough)
	}
	s.units[sku] = n - qty
	return n - qty, nil
}
