package utmstacktest

import "time"

// Edition selects which UTMStack backend generation the fake behaves like.
type Edition int

const (
	// EditionCurrent is v11.0.x (Nov 2025+): login answers
	// {"success","tfaConfigured","forceTfa","method","token","tfaExpiresInSeconds"},
	// user API keys (Utm-Api-Key) exist, and failures carry the
	// GlobalExceptionHandler texts in X-UtmStack-error: a body failing
	// @Valid is a 400, any other exception before the controller a 500.
	EditionCurrent Edition = iota
	// EditionLegacy is v10 and v11 up to May 2025: login answers
	// {"id_token","authenticated"} plus an "Authorization: Bearer <jwt>"
	// response header, there are no API keys (Utm-Api-Key is ignored),
	// failure texts are prefixed "UserJWTController.authorize: ", and
	// exceptions before the controller are ExceptionTranslator's
	// problem+json (400 for a body failing @Valid).
	EditionLegacy
)

func (e Edition) String() string {
	if e == EditionLegacy {
		return "legacy"
	}
	return "current"
}

// TFAMode selects what a correct password login returns.
type TFAMode int

const (
	// TFAOff: a full token, always.
	TFAOff TFAMode = iota
	// TFAForcedUnlessBypass is the v11.0.x default (APP_TFA_ENABLED unset): a
	// 5-minute pre-verification token unless the request carries
	// "X-Bypass-TFA: true".
	TFAForcedUnlessBypass
	// TFAAlways is Legacy with utmstack.tfa.enable=true: a pre-verification
	// token whatever the request headers say.
	TFAAlways
)

// APIKey is a user-managed API key (EditionCurrent only).
type APIKey struct {
	Key string
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time
	// AllowedIPs holds exact IPv4 addresses or IPv4 CIDRs matched against
	// the connection's remote address (never X-Forwarded-For); empty allows
	// every address.
	AllowedIPs []string
	// User is the key owner's login, returned by GET /api/authenticate;
	// "admin" when empty.
	User string
}

// Alert is one alert document (_source) in UTMStack v11's field layout.
type Alert map[string]any

// Options configure a Server. The zero value is a usable v11.0.x server
// without users, keys or alerts.
type Options struct {
	// Clock supplies "now"; nil means real time.
	Clock   *Clock
	Edition Edition
	TFA     TFAMode
	// Users maps login to password. Logins are stored lower-cased, and the
	// password check matches them lower-cased (DomainUserDetailsService);
	// v11.0.x then looks the user up by the name as sent, case-sensitive,
	// and answers 401 "user 'Admin' not found" to anything but the stored
	// login (UserJWTController.authorize).
	Users map[string]string
	// Emails maps login to the user's e-mail address, stored lower-cased
	// as UTMStack does: a login sent as a valid e-mail address in lower
	// case is checked against that user's password.
	Emails  map[string]string
	APIKeys []APIKey
	// InternalKey is the INTERNAL_KEY environment variable; empty means
	// unset, and then Utm-Internal-Key never authenticates.
	InternalKey string
	Alerts      []Alert
	Incidents   []Incident
	// DataSources are the rows of utm_data_input_status; Agents the agent
	// manager's agents (coverage.go).
	DataSources []DataSource
	Agents      []Agent
	// TokenValidity is the lifetime of a full JWT; 24h when zero. A short
	// one is token-validity-in-seconds set low.
	TokenValidity time.Duration
	// ClockSkew is how far the server's clock is off Clock (negative:
	// behind). It moves everything the server judges by time: the exp it
	// writes into tokens, their expiry, the lock-out. A server 25 hours
	// behind issues tokens that look expired to the client.
	ClockSkew time.Duration
	// Version is /management/info build.version; "v11.0.1-community" when empty.
	Version string
	// IndexPattern names the indices the alerts live in, e.g. "v11-alert-*".
	// A request's index pattern must match it (glob with *), otherwise the
	// request sees no documents ({}); a pattern without * that matches
	// nothing is a missing index (500), as in OpenSearch. "v11-alert-*"
	// when empty.
	IndexPattern string
	// AdminLogin is the login the internal key acts as (the first active
	// admin in UTMStack); "admin" when empty.
	AdminLogin string
}

const (
	defaultTokenValidity = 24 * time.Hour
	rememberMeValidity   = 30 * 24 * time.Hour // token-validity-in-seconds-for-remember-me
	preTokenValidity     = 300 * time.Second   // TEMP_TOKEN_VALIDITY_IN_MILLIS
	defaultVersion       = "v11.0.1-community"
	defaultIndexPattern  = "v11-alert-*"
	defaultAdmin         = "admin"
)
