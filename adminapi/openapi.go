package adminapi

import (
	_ "embed"
	"net/http"
)

// openapiDoc is the OpenAPI 3.1 description of every route in Handler;
// a test keeps the two in step.
//
//go:embed openapi.json
var openapiDoc []byte

// openapi serves the API's description. It needs no token, so clients and
// tools can read it before they hold one.
func (a *api) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(openapiDoc)
}
