// Package retry decides whether and when a failed request may be tried
// again: the per-route Policy (which failures, how many attempts, which
// methods, per-try timeout, backoff), the per-service Budget that caps
// retries to a share of recent traffic, and exponential Backoff with full
// jitter.
//
// Everything the request path calls here (Policy.Retryable,
// Policy.RetryableStatus, IdempotentMethod, Budget.Request, Budget.TryRetry,
// Backoff) is lock-free and allocation-free. ParseOn runs at config compile.
package retry
