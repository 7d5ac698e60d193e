package main

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Order is a placed order, as answered, stored and published.
type Order struct {
	ID             string    `json:"id"`
	SKU            string    `json:"sku"`
	Name           string    `json:"name"`
	Qty            int       `json:"qty"`
	UnitPriceCents int64     `json:"unit_price_cents"`
	TotalCents     int64     `json:"total_cents"`
	CreatedAt      time.Time `json:"created_at"`
	// Instance is the orders instance that took the order, and
	// InventoryInstance the inventory instance that reserved its stock:
	// together they show the mesh's load balancing.
	Instance          string `json:"instance"`
	InventoryInstance string `json:"inventory_instance"`
}

// newID returns a random order id like "ord-3f9a0c5e21d4".
func newID() string {
	var b [6]byte
	rand.Read(b[:]) // never fails: see crypto/rand.Read
	return "ord-" + hex.EncodeToString(b[:])
}
