package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
)

// inventoryClient calls the inventory service over plain HTTP: its address
// is the local port of this instance's sidecar, which adds mTLS, picks an
// inventory instance and retries.
type inventoryClient struct {
	base string // like http://127.0.0.1:40123
	http *http.Client
}

// reserved is the part of inventory's answer orders uses.
type reserved struct {
	Instance string `json:"instance"`
}

// inventoryError is a non-2xx answer of inventory.
type inventoryError struct {
	status  int
	problem httpjson.Problem
}

func (e *inventoryError) Error() string {
	return fmt.Sprintf("inventory answered %d %s: %s", e.status, e.problem.Code, e.problem.Message)
}

// reserve asks inventory for qty units of sku. An answer other than 200
// is an *inventoryError.
func (c *inventoryClient) reserve(ctx context.Context, sku string, qty int) (reserved, error) {
	body, err := json.Marshal(map[string]any{"sku": sku, "qty": qty})
	if err != nil {
		return reserved{}, fmt.Errorf("reserve stock: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/reserve", bytes.NewReader(body))
	if err != nil {
		return reserved{}, fmt.Errorf("reserve stock: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return reserved{}, fmt.Errorf("reserve stock: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var eb httpjson.ErrorBody
		_ = json.NewDecoder(res.Body).Decode(&eb) // a body that is not ours leaves the problem empty
		return reserved{}, &inventoryError{status: res.StatusCode, problem: eb.Error}
	}
	var r reserved
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return reserved{}, fmt.Errorf("reserve stock: decode answer: %w", err)
	}
	return r, nil
}
