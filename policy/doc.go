// Package policy runs a route's policies on a request after routing:
// authentication (an API key of a consumer, or a JWT), consumer allow
// lists and rate limits (config.Policy). A route's policies compile into
// one Chain; a request that passes it carries an Outcome: the consumer it
// authenticated as, the credential to remove before forwarding, and the
// rate limit state the response reports. A request that fails gets a
// *flow.Error with the status, code and header fields the client needs
// (WWW-Authenticate, Retry-After, RateLimit-*).
package policy
