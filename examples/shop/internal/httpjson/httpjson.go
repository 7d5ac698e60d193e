// Package httpjson writes and reads the JSON bodies of the example shop's
// HTTP services. Every error answer has one shape:
//
//	{"error": {"code": "insufficient_stock", "message": "only 3 of mug left"}}
package httpjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxBody is the largest request body Decode reads.
const MaxBody = 1 << 20

// ErrorBody is the JSON body of an error answer.
type ErrorBody struct {
	Error Problem `json:"error"`
}

// Problem says what went wrong: Code is stable, for programs; Message is
// for people.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Write answers with status and v encoded as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // an error means the client went away: nobody to tell
}

// Error answers with status and an ErrorBody holding code and message.
func Error(w http.ResponseWriter, status int, code, message string) {
	Write(w, status, ErrorBody{Error: Problem{Code: code, Message: message}})
}

// Decode reads r's body, at most MaxBody bytes, as one JSON value into v,
// refusing unknown fields and trailing data.
func Decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	if dec.More() {
		return errors.New("decode request body: more than one JSON value")
	}
	return nil
}
