package utmstacktest

import (
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// principal is who the security filters decided the request is.
type principal struct {
	login string
	auth  string // comma-separated authorities
}

// errAPIKey is ApiKeyInvalidAccessException: it escapes the filter chain and
// Spring Boot renders a bare 500.
var errAPIKey = errors.New("invalid API key access")

// authenticate runs the security filters in their chain order; a later
// filter that succeeds replaces what an earlier one set:
// InternalApiKeyFilter, then JWTFilter, then (v11.0.x) ApiKeyFilter.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	now := s.now()
	s.mu.Lock()
	key := s.key
	keys := s.apiKeys
	s.mu.Unlock()

	var p *principal
	// A wrong or unconfigured internal key is ignored silently.
	if k := r.Header.Get("Utm-Internal-Key"); hasText(k) && s.opts.InternalKey != "" && k == s.opts.InternalKey {
		p = &principal{login: s.adminLogin(), auth: authoritiesFull}
	}
	// An invalid or expired JWT just does not authenticate; so does an API
	// key sent as a Bearer token, which is not a JWT.
	if tok := bearerToken(r); tok != "" {
		if c, err := parseJWT(key, tok, now); err == nil {
			p = &principal{login: c.Sub, auth: c.Auth}
		}
	}
	if s.opts.Edition == EditionCurrent {
		if k := r.Header.Get("Utm-Api-Key"); hasText(k) {
			ak, ok := findAPIKey(keys, k)
			if !ok || !ipAllowed(ak.AllowedIPs, remoteIP(r)) || !ak.ExpiresAt.IsZero() && !ak.ExpiresAt.After(now) {
				return nil, errAPIKey
			}
			user := ak.User
			if user == "" {
				user = defaultAdmin
			}
			p = &principal{login: strings.ToLower(user), auth: authoritiesFull}
		}
	}
	return p, nil
}

func (s *Server) adminLogin() string {
	if s.opts.AdminLogin != "" {
		return strings.ToLower(s.opts.AdminLogin)
	}
	return defaultAdmin
}

// bearerToken is JWTFilter.resolveToken: "Bearer <t>" (case-sensitive
// prefix), else the access_token query parameter.
func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); hasText(h) && strings.HasPrefix(h, "Bearer ") {
		return h[len("Bearer "):]
	}
	if t := r.URL.Query().Get("access_token"); hasText(t) {
		return t
	}
	return ""
}

// hasText is Spring's StringUtils.hasText.
func hasText(s string) bool { return strings.TrimSpace(s) != "" }

func findAPIKey(keys []APIKey, k string) (APIKey, bool) {
	for _, ak := range keys {
		if ak.Key == k {
			return ak, true
		}
	}
	return APIKey{}, false
}

// cidrRE is ApiKeyFilter.CIDR_PATTERN: IPv4 CIDRs only.
var cidrRE = regexp.MustCompile(`^((25[0-5]|2[0-4]\d|1\d{2}|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d{2}|[1-9]?\d)/(\d|[1-2]\d|3[0-2])$`)

// ipAllowed is ApiKeyFilter.allowAccessToRemoteIp: exact strings or IPv4
// CIDRs (network and broadcast addresses included); empty allows all.
func ipAllowed(allowed []string, remote string) bool {
	listed := false
	for _, a := range allowed {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		listed = true
		if cidrRE.MatchString(a) {
			_, n, err := net.ParseCIDR(a)
			ip := net.ParseIP(remote)
			if err == nil && ip != nil && ip.To4() != nil && n.Contains(ip.To4()) {
				return true
			}
		} else if a == remote {
			return true
		}
	}
	return !listed
}

// authorize is the authorizeRequests() rules of SecurityConfiguration, in
// their order. It reports the status to refuse with, or 0 to let the
// request through. A pre-verification token only completes TFA: v11.0.x
// takes it on /api/tfa/verify-code and /api/tfa/refresh (next to full
// tokens), legacy on /api/tfa/verifyCode (and only it there). /management
// is open to ROLE_USER as well as ROLE_ADMIN, /management/info to anyone.
func (s *Server) authorize(path string, p *principal) int {
	const admin, user = "ROLE_ADMIN", "ROLE_USER"
	switch {
	case path == "/api/authenticate", path == "/api/ping", path == "/management/info":
		return 0
	case s.opts.Edition == EditionCurrent && (path == "/api/tfa/verify-code" || path == "/api/tfa/refresh"):
		return require(p, authorityPreTFA, user, admin)
	case s.opts.Edition == EditionLegacy && path == "/api/tfa/verifyCode":
		return require(p, authorityPreTFA)
	case strings.HasPrefix(path, "/api/"):
		return require(p, admin, user)
	case strings.HasPrefix(path, "/management/"):
		return require(p, admin, user)
	}
	return 0
}

// require: anonymous requests meet the entry point (401), authenticated
// ones without the authority the access-denied handler (403).
func require(p *principal, authorities ...string) int {
	if p == nil {
		return http.StatusUnauthorized
	}
	if !hasAuthority(p.auth, authorities...) {
		return http.StatusForbidden
	}
	return 0
}

// tokenValidity is the lifetime of a full token for a password login.
// v11.0.x ignores rememberMe; older backends honour it with 30 days.
func (s *Server) tokenValidity(rememberMe bool) time.Duration {
	if s.opts.Edition == EditionLegacy && rememberMe {
		return rememberMeValidity
	}
	if s.opts.TokenValidity > 0 {
		return s.opts.TokenValidity
	}
	return defaultTokenValidity
}
