// Package utmstacktest is an in-process fake of the UTMStack backend API,
// faithful enough for client, collector and end-to-end tests. The demo's
// generated alerts and their simulation live in tools/demo/living.
//
// It reproduces what an exporter can observe of a real UTMStack, checked
// against UTMStack's backend source: both login response shapes, HS512
// JWTs that a restart invalidates, the per-IP login lock-out, TFA
// pre-verification tokens, user API keys and the internal key, Spring's
// error bodies, and the OpenSearch semantics of the 22 filter operators behind
// POST /api/elasticsearch/property/values-with-count and /search.
//
// Everything is safe for concurrent use. Time comes from a Clock so that
// token expiry, lock-out expiry and date math ("now-24h") are testable
// without sleeping.
//
// Real behaviours that surprise in tests:
//
//   - LoginVM is validated before anything else: a username of 1 to 50 and
//     a password of 4 to 100 characters, a JSON Content-Type. A shorter
//     password is a 500 (v11.0.x) or 400 problem+json (legacy), not a 401,
//     and does not count as a failed login.
//   - An invalid Utm-Api-Key is a 500 on every path, /api/ping included,
//     whatever other credentials the request carries.
//   - Restart also empties the lock-out cache (it lives in the JVM).
//   - A request whose client leaves during SetLatency's wait is still
//     handled, as Spring does: a wrong password still counts toward the
//     lock-out; only the answer is lost.
//   - values-with-count orders by key, descending, unless orderByCount is
//     set, and returns 5 buckets unless top is given.
//   - Filter errors found by SearchUtil (a value of the wrong shape) are
//     controller errors: 500 with X-UtmStack-error on both editions. What
//     Jackson rejects (an unknown operator, malformed JSON) differs: 500
//     with X-UtmStack-error on v11.0.x, 400 problem+json on legacy. A body
//     that fails @Valid is a 400 on both: X-UtmStack-error on v11.0.x,
//     problem+json on legacy.
//   - CONTAIN and IS_IN_FIELDS values are escaped, never refused, and then
//     read as query_string: whitespace still splits terms, and AND, OR and
//     NOT still work as operators.
package utmstacktest
