package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
)

// The Redis keys of the catalog: the hash of imported products (id to the
// product as JSON) and the channel every price change is published on.
const (
	productsKey   = "catalog:products"
	pricesChannel = "catalog:prices"
)

// jsonOptions writes the JSON kept in Redis; every field is written, so
// the put script always finds price_cents.
var jsonOptions = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// putScript stores a product and, in the same atomic step, publishes its
// new price when it differs from the one before. Being one step, two
// instances importing at once publish in the order the products are
// stored. It returns 1 when the product is new.
//
// KEYS[1] is productsKey; ARGV holds the id, the product as JSON, its
// price, its price in the seed ("" if not there), pricesChannel and the
// price update as JSON.
var putScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
local before = ARGV[4]
if old then before = tostring(cjson.decode(old).price_cents) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if before ~= '' and before ~= ARGV[3] then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
if before == '' then return 1 end
return 0
`)

// redisStore keeps the products in Redis, over a seed that every instance
// starts with, and relays the price changes published there, so every
// instance sees every import whichever instance took it. It is safe for
// concurrent use.
type redisStore struct {
	rdb  *redis.Client
	seed map[string]*catalogpb.Product
}

func newRedisStore(rdb *redis.Client, seed []*catalogpb.Product) *redisStore {
	s := &redisStore{rdb: rdb, seed: map[string]*catalogpb.Product{}}
	for _, p := range seed {
		s.seed[p.GetId()] = proto.CloneOf(p)
	}
	return s
}

func (s *redisStore) get(ctx context.Context, id string) (*catalogpb.Product, bool, error) {
	data, err := s.rdb.HGet(ctx, productsKey, id).Result()
	if errors.Is(err, redis.Nil) {
		p, ok := s.seed[id]
		if !ok {
			return nil, false, nil
		}
		return proto.CloneOf(p), true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load product %q from redis: %w", id, err)
	}
	p, err := decodeProduct(data)
	if err != nil {
		return nil, false, fmt.Errorf("load product %q from redis: %w", id, err)
	}
	return p, true, nil
}

func (s *redisStore) list(ctx context.Context) ([]*catalogpb.Product, error) {
	stored, err := s.rdb.HGetAll(ctx, productsKey).Result()
	if err != nil {
		return nil, fmt.Errorf("list products in redis: %w", err)
	}
	out := make([]*catalogpb.Product, 0, len(s.seed)+len(stored))
	for id, p := range s.seed {
		if _, ok := stored[id]; !ok {
			out = append(out, proto.CloneOf(p))
		}
	}
	for id, data := range stored {
		p, err := decodeProduct(data)
		if err != nil {
			return nil, fmt.Errorf("load product %q from redis: %w", id, err)
		}
		out = append(out, p)
	}
	sortByID(out)
	return out, nil
}

func (s *redisStore) put(ctx context.Context, p *catalogpb.Product) (bool, error) {
	product, err := jsonOptions.Marshal(p)
	if err != nil {
		return false, fmt.Errorf("store product %q in redis: %w", p.GetId(), err)
	}
	update, err := jsonOptions.Marshal(&catalogpb.PriceUpdate{Id: p.GetId(), PriceCents: p.GetPriceCents()})
	if err != nil {
		return false, fmt.Errorf("store product %q in redis: %w", p.GetId(), err)
	}
	seedPrice := ""
	if old, ok := s.seed[p.GetId()]; ok {
		seedPrice = strconv.FormatInt(old.GetPriceCents(), 10)
	}
	price := strconv.FormatInt(p.GetPriceCents(), 10)
	added, err := putScript.Run(ctx, s.rdb, []string{productsKey},
		p.GetId(), product, price, seedPrice, pricesChannel, update).Int()
	if err != nil {
		return false, fmt.Errorf("store product %q in redis: %w", p.GetId(), err)
	}
	return added == 1, nil
}

// watch subscribes to pricesChannel; the subscription is confirmed when it
// returns, so no later change is missed.
func (s *redisStore) watch(ctx context.Context) (<-chan *catalogpb.PriceUpdate, func(), error) {
	sub := s.rdb.Subscribe(ctx, pricesChannel)
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		return nil, nil, fmt.Errorf("subscribe to redis channel %q: %w", pricesChannel, err)
	}
	out := make(chan *catalogpb.PriceUpdate, watchBuffer)
	go func() { // ends when sub is closed
		for msg := range sub.Channel() {
			var u catalogpb.PriceUpdate
			if protojson.Unmarshal([]byte(msg.Payload), &u) != nil {
				continue // not from a catalog: nothing to relay
			}
			select {
			case out <- &u:
			default: // see watchBuffer
			}
		}
	}()
	return out, func() { sub.Close() }, nil
}

func decodeProduct(data string) (*catalogpb.Product, error) {
	var p catalogpb.Product
	if err := protojson.Unmarshal([]byte(data), &p); err != nil {
		return nil, fmt.Errorf("decode product: %w", err)
	}
	return &p, nil
}
