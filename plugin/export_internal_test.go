package plugin

// RateLimitFor is rateLimitFor, for the tests against a real API server.
var RateLimitFor = rateLimitFor
