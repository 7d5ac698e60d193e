// Package catalogpb is the generated Go code of catalog.proto, the gRPC API
// of the example shop's catalog service. The generated files are committed,
// so building needs no protoc; after changing catalog.proto, regenerate them
// with protoc 3.21+ and these plugins on PATH:
//
//	go build -o "$(go env GOPATH)/bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate ./examples/shop/catalog/catalogpb
package catalogpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative catalog.proto
