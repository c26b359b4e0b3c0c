package config

import (
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Environment variables that can supply a secret the file leaves unset.
const (
	EnvPassword    = "UTMSTACK_PASSWORD"
	EnvAPIKey      = "UTMSTACK_API_KEY"
	EnvInternalKey = "UTMSTACK_INTERNAL_KEY"
)

// UTMStack's LoginVM limits.
const (
	usernameMax = 50
	passwordMin = 4
	passwordMax = 100
)

// secretSpec is where one kind of secret may come from. No message built
// from it ever includes the value.
type secretSpec struct {
	what      string // for messages: "password", "API key", "internal key"
	fileKey   string
	inlineKey string
	env       string
	file      string // as set in the file, "" when unset
	inline    string
}

func secretSpecs(a rawAuth) map[utmstack.AuthMethod]secretSpec {
	return map[utmstack.AuthMethod]secretSpec{
		utmstack.AuthPassword:    {"password", "password_file", "password", EnvPassword, a.PasswordFile, a.Password},
		utmstack.AuthAPIKey:      {"API key", "api_key_file", "api_key", EnvAPIKey, a.APIKeyFile, a.APIKey},
		utmstack.AuthInternalKey: {"internal key", "internal_key_file", "internal_key", EnvInternalKey, a.InternalKeyFile, a.InternalKey},
	}
}

// keysSet lists the keys of a method that the file sets, for messages.
func keysSet(m utmstack.AuthMethod, a rawAuth) []string {
	var keys []string
	add := func(key, v string) {
		if v != "" {
			keys = append(keys, key)
		}
	}
	switch m {
	case utmstack.AuthPassword:
		add("username", a.Username)
		add("password", a.Password)
		add("password_file", a.PasswordFile)
	case utmstack.AuthAPIKey:
		add("api_key", a.APIKey)
		add("api_key_file", a.APIKeyFile)
	case utmstack.AuthInternalKey:
		add("internal_key", a.InternalKey)
		add("internal_key_file", a.InternalKeyFile)
	}
	return keys
}

// resolveAuth chooses the method (the file decides; the environment only
// when the file names none) and reads its secret: from the *_file, else the
// inline key, else the environment variable. getenv is nil where the
// environment is not consulted (targets). Environment variables that are
// set but lose to the file are reported as notices.
func resolveAuth(p *problems, prefix string, a rawAuth, getenv func(string) (string, bool)) Auth {
	useEnv := getenv != nil
	if !useEnv {
		getenv = func(string) (string, bool) { return "", false }
	}
	var named []utmstack.AuthMethod
	var described []string
	for _, m := range []utmstack.AuthMethod{utmstack.AuthPassword, utmstack.AuthAPIKey, utmstack.AuthInternalKey} {
		if keys := keysSet(m, a); len(keys) > 0 {
			named = append(named, m)
			described = append(described, fmt.Sprintf("%s (%s)", m, strings.Join(keys, ", ")))
		}
	}

	var method utmstack.AuthMethod
	switch len(named) {
	case 0:
		var ok bool
		if method, ok = methodFromEnv(p, prefix, getenv, useEnv); !ok {
			return Auth{}
		}
	case 1:
		method = named[0]
	default:
		p.add(prefix, "more than one authentication method is set: %s; keep exactly one", strings.Join(described, ", "))
		return Auth{}
	}

	auth := Auth{Method: method}
	if method == utmstack.AuthPassword {
		auth.Username = a.Username
		switch n := utf8.RuneCountInString(a.Username); {
		case n == 0:
			p.add(prefix+".username", "required for password authentication")
		case n > usernameMax:
			p.add(prefix+".username", "%q has %d characters; UTMStack accepts 1 to %d", a.Username, n, usernameMax)
		}
	}

	spec := secretSpecs(a)[method]
	value, source, key, ok := spec.read(p, prefix, getenv, useEnv)
	if !ok {
		return auth
	}
	if useEnv {
		unusedEnvNotices(p, prefix, a, method, source, len(named) > 0, getenv)
	}
	auth.Source = source
	switch method {
	case utmstack.AuthPassword:
		if n := utf8.RuneCountInString(value); n < passwordMin || n > passwordMax {
			p.add(key, "the password from %s has %d characters; UTMStack accepts %d to %d", source, n, passwordMin, passwordMax)
			return auth
		}
	default:
		// Keys travel in HTTP headers: a stray space or second line is a
		// broken file, and net/http would refuse it at scrape time anyway.
		if strings.IndexFunc(value, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			p.add(key, "the %s from %s contains whitespace or control characters; it must be a single token", spec.what, source)
			return auth
		}
	}
	auth.Secret = utmstack.Secret(value)
	return auth
}

// unusedEnvNotices says which secret is used when another one is set in the
// environment too, so that a person who exported a variable is not left to
// guess: the variable names and the source, never a value.
func unusedEnvNotices(p *problems, prefix string, a rawAuth, used utmstack.AuthMethod, source string, fileNamesMethod bool, getenv func(string) (string, bool)) {
	specs := secretSpecs(a)
	for _, m := range []utmstack.AuthMethod{utmstack.AuthPassword, utmstack.AuthAPIKey, utmstack.AuthInternalKey} {
		env := specs[m].env
		if !envSet(getenv, env) || source == "env "+env {
			continue
		}
		var why string
		switch {
		case m == used:
			why = fmt.Sprintf("%s and %s in the file win over %s", specs[m].fileKey, specs[m].inlineKey, env)
		case fileNamesMethod:
			why = fmt.Sprintf("the file chooses %s authentication", used)
		default:
			why = "password authentication also needs a username in the file"
		}
		p.notice(prefix, "the environment variable %s is set and not used: the %s comes from %s (%s)", env, specs[used].what, source, why)
	}
}

// methodFromEnv applies when the file names no method: an API key or
// internal key env var may choose one; a password cannot, as it needs a
// username from the file. useEnv is false where the environment is not
// consulted.
func methodFromEnv(p *problems, prefix string, getenv func(string) (string, bool), useEnv bool) (utmstack.AuthMethod, bool) {
	apiKey, internalKey := envSet(getenv, EnvAPIKey), envSet(getenv, EnvInternalKey)
	switch {
	case apiKey && internalKey:
		p.add(prefix, "the file names no method and both %s and %s are set; unset one, or choose the method in the file", EnvAPIKey, EnvInternalKey)
	case apiKey:
		return utmstack.AuthAPIKey, true
	case internalKey:
		return utmstack.AuthInternalKey, true
	case envSet(getenv, EnvPassword):
		p.add(prefix+".username", "required: %s is set, but password authentication also needs a username in the file", EnvPassword)
	case !useEnv:
		p.add(prefix, "no authentication method; set username with password_file, or api_key_file, or internal_key_file (a target does not read the environment)")
	default:
		p.add(prefix, "no authentication method; set username with password_file, or api_key_file, or internal_key_file (or the environment variable %s or %s)", EnvAPIKey, EnvInternalKey)
	}
	return "", false
}

// envSet treats an empty variable as unset, as `VAR=` usually means "none".
func envSet(getenv func(string) (string, bool), name string) bool {
	v, ok := getenv(name)
	return ok && v != ""
}

// ways lists where the secret can come from, for a message saying it could
// not be had.
func (s secretSpec) ways(useEnv bool) string {
	if !useEnv {
		return fmt.Sprintf("give the %s one of two ways: %s (a file holding it; recommended) or %s (inline in this file); a target does not read the environment",
			s.what, s.fileKey, s.inlineKey)
	}
	return fmt.Sprintf("give the %s one of three ways: %s (a file holding it; recommended), %s (inline in this file) or the environment variable %s (when the file sets neither)",
		s.what, s.fileKey, s.inlineKey, s.env)
}

// read returns the secret, a description of its source and the key path to
// blame for a bad value. It reports every problem itself, including absence.
func (s secretSpec) read(p *problems, prefix string, getenv func(string) (string, bool), useEnv bool) (value, source, key string, ok bool) {
	switch {
	case s.file != "" && s.inline != "":
		p.add(prefix, "both %s and %s are set; keep one (%s is recommended)", s.fileKey, s.inlineKey, s.fileKey)
		return "", "", "", false
	case s.file != "":
		key = prefix + "." + s.fileKey
		data, err := os.ReadFile(s.file)
		if err != nil {
			// An *os.PathError names the file and the reason, never the content.
			p.add(key, "cannot read the %s: %s; %s", s.what, err, s.ways(useEnv))
			return "", "", "", false
		}
		// Editors and `echo` add a trailing newline, never part of a secret:
		// a password is the file's first line, trailing blanks included (they
		// may belong to it). Keys cannot hold blanks (they are refused
		// below), so for keys all trailing white space goes.
		if s.what == "password" {
			value, _, _ = strings.Cut(string(data), "\n")
			value = strings.TrimSuffix(value, "\r")
		} else {
			value = strings.TrimRightFunc(string(data), unicode.IsSpace)
		}
		if strings.TrimSpace(value) == "" {
			p.add(key, "%q is empty; %s", s.file, s.ways(useEnv))
			return "", "", "", false
		}
		return value, s.fileKey + " " + s.file, key, true
	case s.inline != "":
		return s.inline, "inline " + s.inlineKey, prefix + "." + s.inlineKey, true
	}
	if v, found := getenv(s.env); found && v != "" {
		return v, "env " + s.env, prefix + "." + s.inlineKey, true
	}
	if !useEnv {
		p.add(prefix, "no %s: set %s (recommended) or %s (a target does not read the environment)", s.what, s.fileKey, s.inlineKey)
		return "", "", "", false
	}
	p.add(prefix, "no %s: set %s (recommended), %s, or the environment variable %s", s.what, s.fileKey, s.inlineKey, s.env)
	return "", "", "", false
}
