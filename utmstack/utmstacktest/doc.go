// Package utmstacktest is an in-process fake of the UTMStack backend API,
// faithful enough for client, collector and end-to-end tests and for demos.
//
// It reproduces what an exporter can observe of a real UTMStack (see
// shared/spec/utmstack-api.md): both login response shapes, HS512 JWTs that a
// restart invalidates, the per-IP login lock-out, TFA pre-verification tokens,
// user API keys and the internal key, Spring's error bodies, and the
// OpenSearch semantics of the 22 filter operators behind
// POST /api/elasticsearch/property/values-with-count and /search.
//
// Everything is safe for concurrent use. Time comes from a Clock so that
// token expiry, lock-out expiry and date math ("now-24h") are testable
// without sleeping.
package utmstacktest
