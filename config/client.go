package config

import (
	commoncfg "github.com/prometheus/common/config"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// ClientOptions are base with u's settings of a client set: where, which
// credentials, TLS and proxy. base holds what the caller adds (hooks,
// logger, user agent and the like); two UTMStacks whose ClientOptions of
// the same base are equal are asked by equal clients.
func (u UTMStack) ClientOptions(base utmstack.Options) utmstack.Options {
	base.URL = u.URL
	base.Credentials = utmstack.Credentials{Method: u.Auth.Method, Username: u.Auth.Username, Secret: u.Auth.Secret}
	base.HTTP = commoncfg.HTTPClientConfig{TLSConfig: u.TLSConfig, EnableHTTP2: true}
	if u.ProxyURL != nil {
		base.HTTP.ProxyURL = commoncfg.URL{URL: u.ProxyURL}
	}
	return base
}
