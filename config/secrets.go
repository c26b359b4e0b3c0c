package config

import (
	"fmt"
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
const usernameMax, passwordMin, passwordMax = 50, 4, 100

// secretSpec is where the secret of one method may come from. No message
// built from it ever includes the value.
type secretSpec struct {
	method                        utmstack.AuthMethod
	what, fileKey, inlineKey, env string
	file, inline                  string // as set in the file, "" when unset
}

func secretSpecs(a rawAuth) []secretSpec {
	return []secretSpec{
		{utmstack.AuthPassword, "password", "password_file", "password", EnvPassword, a.PasswordFile, a.Password},
		{utmstack.AuthAPIKey, "API key", "api_key_file", "api_key", EnvAPIKey, a.APIKeyFile, a.APIKey},
		{utmstack.AuthInternalKey, "internal key", "internal_key_file", "internal_key", EnvInternalKey, a.InternalKeyFile, a.InternalKey},
	}
}

// resolveAuth chooses the method (the file decides; the environment only
// when the file names none) and reads its secret: from the *_file, else the
// inline key, else the environment variable. getenv is nil where the
// environment is not consulted (targets).
func resolveAuth(p *problems, prefix string, a rawAuth, getenv func(string) (string, bool)) Auth {
	useEnv := getenv != nil
	if !useEnv {
		getenv = func(string) (string, bool) { return "", false }
	}
	specs := secretSpecs(a)
	var named []secretSpec
	var described []string
	for _, s := range specs {
		var keys []string
		for i, v := range []string{a.Username, s.inline, s.file} {
			if v != "" && (i > 0 || s.method == utmstack.AuthPassword) {
				keys = append(keys, []string{"username", s.inlineKey, s.fileKey}[i])
			}
		}
		if len(keys) > 0 {
			named = append(named, s)
			described = append(described, fmt.Sprintf("%s (%s)", s.method, strings.Join(keys, ", ")))
		}
	}
	fileNames := len(named) > 0
	if len(named) > 1 {
		p.add(prefix, "more than one authentication method is set: %s; keep exactly one", strings.Join(described, ", "))
		return Auth{}
	} else if len(named) == 0 {
		i := methodFromEnv(p, prefix, getenv, useEnv)
		if i < 0 {
			return Auth{}
		}
		named = specs[i : i+1]
	}
	spec := named[0]
	auth := Auth{Method: spec.method}
	if spec.method == utmstack.AuthPassword {
		auth.Username = a.Username
		if n := utf8.RuneCountInString(a.Username); n == 0 {
			p.add(prefix+".username", "required for password authentication")
		} else if n > usernameMax {
			p.add(prefix+".username", "%q has %d characters; UTMStack accepts 1 to %d", a.Username, n, usernameMax)
		}
	}
	value, source, key, ok := spec.read(p, prefix, getenv, useEnv)
	if !ok {
		return auth
	}
	for _, s := range specs {
		if envSet(getenv, s.env) && source != "env "+s.env { // a notice: set and not used
			why := "password authentication also needs a username in the file"
			if s.method == spec.method {
				why = fmt.Sprintf("%s and %s in the file win over %s", s.fileKey, s.inlineKey, s.env)
			} else if fileNames {
				why = fmt.Sprintf("the file chooses %s authentication", spec.method)
			}
			p.notice(prefix, "the environment variable %s is set and not used: the %s comes from %s (%s)", s.env, spec.what, source, why)
		}
	}
	auth.Source = source
	if why := spec.refusal(value); why != "" {
		p.add(key, "the %s from %s %s", spec.what, source, why)
		return auth
	}
	auth.Secret = utmstack.Secret(value)
	return auth
}

// refusal says why value cannot be sent as the secret, "" if it can. The
// client refuses the same at start: --config.check and the start agree.
func (s secretSpec) refusal(value string) string {
	n := utf8.RuneCountInString(value)
	switch {
	case s.method != utmstack.AuthPassword:
		// Keys travel in HTTP headers: a stray space or second line is a
		// broken file, and net/http would refuse it at scrape time anyway.
		if strings.IndexFunc(value, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return "contains whitespace or control characters; it must be a single token"
		}
	case n < passwordMin || n > passwordMax:
		return fmt.Sprintf("has %d characters; UTMStack accepts %d to %d", n, passwordMin, passwordMax)
	case strings.ContainsAny(value, "\r\n"):
		return "contains a line break (CR or LF); a password is one line"
	}
	return ""
}

// methodFromEnv applies when the file names no method: an API key or
// internal key variable may choose one (the index of its spec; -1 for
// none); a password cannot, as it needs a username from the file.
func methodFromEnv(p *problems, prefix string, getenv func(string) (string, bool), useEnv bool) int {
	apiKey, internalKey := envSet(getenv, EnvAPIKey), envSet(getenv, EnvInternalKey)
	switch {
	case apiKey && internalKey:
		p.add(prefix, "the file names no method and both %s and %s are set; unset one, or choose the method in the file", EnvAPIKey, EnvInternalKey)
	case apiKey:
		return 1
	case internalKey:
		return 2
	case envSet(getenv, EnvPassword):
		p.add(prefix+".username", "required: %s is set, but password authentication also needs a username in the file", EnvPassword)
	case !useEnv:
		p.add(prefix, "no authentication method; set username with password_file, or api_key_file, or internal_key_file (a target does not read the environment)")
	default:
		p.add(prefix, "no authentication method; set username with password_file, or api_key_file, or internal_key_file (or the environment variable %s or %s)", EnvAPIKey, EnvInternalKey)
	}
	return -1
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
	switch v, found := getenv(s.env); {
	case s.file != "" && s.inline != "":
		p.add(prefix, "both %s and %s are set; keep one (%s is recommended)", s.fileKey, s.inlineKey, s.fileKey)
	case s.file != "":
		key = prefix + "." + s.fileKey
		var data []byte
		err := timely(p.deadline, func() (err error) {
			data, err = readFile(s.file, maxSecretFileBytes)
			return err
		})
		// Editors and `echo` add a trailing newline, never part of a secret:
		// a password is the file's first line, trailing blanks included (they
		// may belong to it); keys cannot hold blanks, so all of them go.
		value = strings.TrimRightFunc(string(data), unicode.IsSpace)
		if s.method == utmstack.AuthPassword {
			value, _, _ = strings.Cut(string(data), "\n")
			value = strings.TrimSuffix(value, "\r")
		}
		switch {
		case err != nil:
			p.add(key, "cannot read the %s: %s; %s", s.what, err, s.ways(useEnv)) // names the file, never the content
		case strings.TrimSpace(value) == "":
			p.add(key, "%q is empty; %s", s.file, s.ways(useEnv))
		default:
			return value, s.fileKey + " " + s.file, key, true
		}
	case s.inline != "":
		return s.inline, "inline " + s.inlineKey, prefix + "." + s.inlineKey, true
	case found && v != "":
		return v, "env " + s.env, prefix + "." + s.inlineKey, true
	case !useEnv:
		p.add(prefix, "no %s: set %s (recommended) or %s (a target does not read the environment)", s.what, s.fileKey, s.inlineKey)
	default:
		p.add(prefix, "no %s: set %s (recommended), %s, or the environment variable %s", s.what, s.fileKey, s.inlineKey, s.env)
	}
	return "", "", "", false
}
