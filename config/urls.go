package config

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// checkURL validates utmstack.url and returns only its scheme and host.
func checkURL(p *problems, key, raw string) *url.URL {
	if raw == "" {
		p.add(key, "required, e.g. https://utmstack.example.com")
		return nil
	}
	u := parseAbsolute(p, key, raw, "https://utmstack.example.com")
	if u == nil {
		return nil
	}
	shown, before := shownURL(u, raw), len(p.errs)
	if u.Scheme != "http" && u.Scheme != "https" {
		p.add(key, "%q must use http or https", shown)
	}
	if u.User != nil {
		p.add(key, "%q must not contain user info: credentials in a URL would leak into logs; use utmstack.auth", shown)
	}
	if u.Path != "" && u.Path != "/" {
		p.add(key, "%q must not have a path (%q); give only scheme://host[:port], the exporter adds /api itself", shown, u.Path)
	}
	if u.RawQuery != "" || u.ForceQuery {
		p.add(key, "%q must not have a query (values not shown: a query may carry a token)", shown)
	}
	if u.Fragment != "" {
		p.add(key, "%q must not have a fragment (not shown: it may carry a token)", shown)
	}
	if len(p.errs) > before {
		return nil
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}
}

// checkProxyURL validates utmstack.proxy_url; "" means no proxy. User info
// is allowed here (proxy authentication) and is redacted in every message.
func checkProxyURL(p *problems, key, raw string) *url.URL {
	if raw == "" {
		return nil
	}
	u := parseAbsolute(p, key, raw, "http://proxy.example.com:3128")
	if u != nil && u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5" {
		p.add(key, "%q must use http, https or socks5", shownURL(u, raw))
		return nil
	}
	return u
}

// parseAbsolute parses raw and checks it has a scheme, a host and a valid
// port; nil if not. It never prints credentials that raw may contain.
func parseAbsolute(p *problems, key, raw, example string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole input, whose user info, query or
		// fragment may hold a token: show only the cause, and not even that
		// when the input may hold credentials.
		var ue *url.Error
		if strings.Contains(raw, "@") {
			p.add(key, "not a valid URL (the value is not shown because it may contain credentials)")
		} else if errors.As(err, &ue) {
			p.add(key, "not a valid URL: %s (the value is not shown: it may hold a token)", ue.Err)
		}
		return nil
	}
	shown := shownURL(u, raw)
	port, perr := strconv.Atoi(u.Port())
	switch {
	case u.Scheme == "" || u.Opaque != "": // "host:8443" parses as scheme "host"
		p.add(key, "%q is not an absolute URL; write it like %s", shown, example)
	case u.Hostname() == "":
		p.add(key, "%q has no host", shown)
	case u.Port() != "" && (perr != nil || port < 1 || port > 65535):
		p.add(key, "%q has port %s; accepted: 1 to 65535", shown, u.Port())
	default:
		return u
	}
	return nil
}

// shownURL is the value for a message: as written, unless it holds
// credentials.
func shownURL(u *url.URL, raw string) string {
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return displayURL(u)
	}
	return raw
}

// displayURL is u with any user info, query values and fragment replaced,
// safe for messages and logs: each can carry a credential.
func displayURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("xxxxx")
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		c.RawQuery = q.Encode()
	}
	if c.Fragment != "" {
		c.Fragment, c.RawFragment = "xxxxx", ""
	}
	return c.String()
}
