package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResponse bounds an answer the client reads: a long list of resources
// fits easily.
const maxResponse = 64 << 20

// Client calls the control plane's admin API. It is safe for concurrent use.
type Client struct {
	// Server is the API's base URL, like http://127.0.0.1:15000.
	Server string
	// Token is the admin bearer token; empty sends none.
	Token string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// Problem is one reason the API refused a write.
type Problem struct {
	Resource string `json:"resource"`
	Path     string `json:"path,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Message  string `json:"message"`
}

// APIError is an error answer from the API.
type APIError struct {
	// Status is the HTTP status of the answer.
	Status    int       `json:"-"`
	Code      string    `json:"code"`
	Message   string    `json:"message"`
	RequestID string    `json:"request_id"`
	Details   []Problem `json:"details,omitempty"`
}

// Error is "code: message".
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// UnreachableError is a request that got no answer from the server.
type UnreachableError struct {
	Server string
	Err    error
}

// Error says which server could not be reached and why.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the control plane at %s: %v", e.Server, e.Err)
}

// Unwrap returns the transport error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Do sends a request to path (under the server's base URL, like
// "/v1/services") with query and, when body is not nil, a body of
// contentType. It returns the body of a 2xx answer; an error answer is an
// *APIError, and no answer at all an *UnreachableError.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body []byte, contentType string) ([]byte, error) {
	resp, err := c.send(ctx, method, path, query, body, contentType)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, &UnreachableError{Server: c.Server, Err: fmt.Errorf("read the answer to %s %s: %w", method, path, err)}
	}
	return data, nil
}

// Stream sends a GET of path with query and returns the body of a 2xx
// answer as it arrives (a stream of newline-delimited JSON, say), for the
// caller to close. Errors are those of Do; ctx bounds the whole stream.
func (c *Client) Stream(ctx context.Context, path string, query url.Values) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, path, query, nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// send sends a request and returns a 2xx answer with its body unread.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, contentType string) (*http.Response, error) {
	req, err := c.request(ctx, method, path, query, body, contentType)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &UnreachableError{Server: c.Server, Err: unwrapURLError(err)}
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, &UnreachableError{Server: c.Server, Err: fmt.Errorf("read the answer to %s %s: %w", method, path, err)}
	}
	return nil, answerError(resp.StatusCode, data)
}

func (c *Client) request(ctx context.Context, method, path string, query url.Values, body []byte, contentType string) (*http.Request, error) {
	u := strings.TrimSuffix(c.Server, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", method, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// unwrapURLError drops the "Get \"http://...\":" prefix the error already
// carries in UnreachableError.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// answerError turns an error answer into an *APIError. An answer that is
// not the API's JSON (a proxy's error page, say) keeps its status and first
// line.
func answerError(status int, data []byte) *APIError {
	var body struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error != nil && body.Error.Code != "" {
		body.Error.Status = status
		return body.Error
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{Status: status, Code: fmt.Sprintf("http_%d", status), Message: msg}
}
