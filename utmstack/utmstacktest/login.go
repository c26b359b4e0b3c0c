package utmstacktest

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf16"
)

// POST /api/authenticate (UserJWTController.authorize, spec §1).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	body, _, fail := readJSON(r, false)
	if fail != nil {
		s.mvcError(w, r, fail.status, fail.msg)
		return
	}
	vm, fail := decodeLoginVM(body)
	if fail != nil {
		s.mvcError(w, r, fail.status, fail.msg)
		return
	}
	if errs := vm.validate(); len(errs) > 0 {
		s.validationError(w, r, errs)
		return
	}

	ip := clientIP(r)
	now := s.now()
	name := *vm.username
	s.mu.Lock()
	if s.lock.blocked(ip, now) { // checked before authenticating; not counted
		s.mu.Unlock()
		utmError(w, http.StatusLocked, s.blockedText(ip))
		return
	}
	login, known := s.userByName(name)
	if !known || s.users[login] != *vm.password { // unknown users look like bad passwords
		s.lock.failed(ip, now)
		s.mu.Unlock()
		utmError(w, http.StatusUnauthorized, s.errorPrefix()+"Bad credentials")
		return
	}
	s.lock.succeeded(ip, now)
	_, rawFound := s.users[name]
	key := s.key
	s.mu.Unlock()
	if s.opts.Edition == EditionCurrent && !rawFound {
		// The password check passed (and reset the failure count); the
		// controller's own lookup by the raw name does not find the user.
		utmError(w, http.StatusUnauthorized, "Authentication failed: user '"+name+"' not found")
		return
	}

	full := s.tfaPassed(r)
	var token string
	if full {
		token = signJWT(key, login, authoritiesFull, true, now.Add(s.tokenValidity(vm.rememberMe)))
	} else {
		token = signJWT(key, login, authorityPreTFA, false, now.Add(preTokenValidity))
	}

	if s.opts.Edition == EditionLegacy {
		w.Header().Set("Authorization", "Bearer "+token)
		writeJSON(w, http.StatusOK, struct {
			IDToken       string `json:"id_token"`
			Authenticated bool   `json:"authenticated"`
		}{token, full})
		return
	}
	resp := struct {
		Success             bool    `json:"success"`
		TfaConfigured       bool    `json:"tfaConfigured"`
		ForceTfa            bool    `json:"forceTfa"`
		Method              *string `json:"method"`
		Token               string  `json:"token"`
		TfaExpiresInSeconds int64   `json:"tfaExpiresInSeconds"`
	}{Success: true, ForceTfa: !full, Token: token}
	if !full {
		resp.TfaExpiresInSeconds = int64(preTokenValidity.Seconds())
	}
	writeJSON(w, http.StatusOK, resp)
}

// GET /api/authenticate (AccountResource.isAuthenticated): the login, or 401
// with an empty body. The path is permitAll, so a pre-verification token
// counts as authenticated here.
func (s *Server) handleIsAuthenticated(w http.ResponseWriter, _ *http.Request, p *principal) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	if p == nil || p.login == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(p.login))
}

// tfaPassed tells whether a correct password yields a full token.
func (s *Server) tfaPassed(r *http.Request) bool {
	switch s.opts.TFA {
	case TFAForcedUnlessBypass:
		return strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Bypass-TFA")), "true") // Boolean.parseBoolean
	case TFAAlways:
		return false
	}
	return true
}

func (s *Server) errorPrefix() string {
	if s.opts.Edition == EditionLegacy {
		return "UserJWTController.authorize: "
	}
	return ""
}

func (s *Server) blockedText(ip string) string {
	if s.opts.Edition == EditionLegacy {
		return fmt.Sprintf("UserJWTController.authorize: Client IP %s blocked due to too many failed login attempts", ip)
	}
	return fmt.Sprintf("Authentication blocked: IP %s exceeded login attempt threshold", ip)
}

// loginVM is LoginVM after Jackson.
type loginVM struct {
	username, password *string
	rememberMe         bool
}

func decodeLoginVM(v any) (*loginVM, *mvcFailure) {
	m, fail := jsonObject(v, "com.park.utmstack.web.rest.vm.LoginVM")
	if fail != nil {
		return nil, fail
	}
	vm := &loginVM{}
	for _, p := range []struct {
		name string
		dst  **string
	}{{"username", &vm.username}, {"password", &vm.password}} {
		str, null, fail := jString(m[p.name], p.name)
		if fail != nil {
			return nil, fail
		}
		if !null {
			*p.dst = &str
		}
	}
	if vm.rememberMe, _, fail = jBool(m["rememberMe"], "rememberMe"); fail != nil {
		return nil, fail
	}
	return vm, nil
}

// validate is LoginVM's bean validation: username @NotNull @Size(1..50),
// password @NotNull @Size(4..100), lengths in UTF-16 units as Java counts,
// with Hibernate Validator's default messages.
func (vm *loginVM) validate() []fieldError {
	var errs []fieldError
	check := func(name string, v *string, min, max int) {
		switch {
		case v == nil:
			errs = append(errs, fieldError{ObjectName: "loginVM", Field: name, Message: "must not be null"})
		case javaLen(*v) < min || javaLen(*v) > max:
			errs = append(errs, fieldError{ObjectName: "loginVM", Field: name, Message: fmt.Sprintf("size must be between %d and %d", min, max)})
		}
	}
	check("username", vm.username, 1, 50)
	check("password", vm.password, 4, 100)
	return errs
}

func javaLen(s string) int { return len(utf16.Encode([]rune(s))) }

// userByName is DomainUserDetailsService.loadUserByUsername: a valid
// e-mail address is looked up by e-mail, anything else by the lower-cased
// login. UserService stores e-mail addresses lower-cased, and the lookup
// by e-mail compares the address as sent (an equality in PostgreSQL), so
// only its lower-case form finds the user. The caller holds the server
// lock.
func (s *Server) userByName(name string) (login string, ok bool) {
	if isEmail(name) {
		for l, e := range s.opts.Emails {
			if strings.ToLower(e) == name {
				_, ok := s.users[strings.ToLower(l)]
				return strings.ToLower(l), ok
			}
		}
		return "", false
	}
	login = strings.ToLower(name)
	_, ok = s.users[login]
	return login, ok
}

// isEmail approximates Hibernate's EmailValidator: a local part and a
// domain around one @, no spaces.
func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t") && !strings.Contains(domain, "@")
}
