package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Channel is the Redis pub/sub channel each placed order is published on,
// as JSON; the feed service forwards it to WebSocket clients.
const Channel = "orders"

// redisTTL is how long an order stays in Redis.
const redisTTL = 24 * time.Hour

// book keeps the placed orders: in memory, and also in Redis when rdb is
// set, so that any orders instance can find any order. It is safe for
// concurrent use.
type book struct {
	mu     sync.Mutex
	orders map[string]Order
	rdb    *redis.Client // nil: memory only
}

func newBook(rdb *redis.Client) *book {
	return &book{orders: map[string]Order{}, rdb: rdb}
}

// add keeps o in memory and, with Redis, stores it there and publishes it
// on Channel in one transaction. The order is kept in memory even when
// Redis fails.
func (b *book) add(ctx context.Context, o Order) error {
	b.mu.Lock()
	b.orders[o.ID] = o
	b.mu.Unlock()
	if b.rdb == nil {
		return nil
	}
	data, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("store order %s in redis: %w", o.ID, err)
	}
	_, err = b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, redisKey(o.ID), data, redisTTL)
		p.Publish(ctx, Channel, data)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store order %s in redis: %w", o.ID, err)
	}
	return nil
}

// get finds an order in memory, then in Redis.
func (b *book) get(ctx context.Context, id string) (Order, bool, error) {
	b.mu.Lock()
	o, ok := b.orders[id]
	b.mu.Unlock()
	if ok || b.rdb == nil {
		return o, ok, nil
	}
	data, err := b.rdb.Get(ctx, redisKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Order{}, false, nil
	}
	if err != nil {
		return Order{}, false, fmt.Errorf("load order %s from redis: %w", id, err)
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return Order{}, false, fmt.Errorf("load order %s from redis: %w", id, err)
	}
	return o, true, nil
}

func redisKey(id string) string { return "order:" + id }
