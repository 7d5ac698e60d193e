// Package grpcjson is the gRPC codec the control plane's services use: the
// messages are plain Go structs encoded as JSON, so the wire format is
// readable with any gRPC tool that speaks JSON and needs no generated code.
//
// Importing the package registers the codec under the content subtype
// "json" (the request content type application/grpc+json); clients select
// it per call with CallOption.
package grpcjson

import (
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// Name is the codec's name and the gRPC content subtype it serves.
const Name = "json"

// CallOption makes a client call use the JSON codec.
var CallOption = grpc.CallContentSubtype(Name)

type codec struct{}

func (codec) Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("grpcjson: marshal %T: %w", v, err)
	}
	return b, nil
}

func (codec) Unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("grpcjson: unmarshal %T: %w", v, err)
	}
	return nil
}

func (codec) Name() string { return Name }

func init() { encoding.RegisterCodec(codec{}) }
