package round

import (
	commoncfg "github.com/prometheus/common/config"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// ClientOptions are the settings of a client for u: where, which
// credentials, TLS and proxy. The caller adds its hooks, logger and the
// like.
func ClientOptions(u config.UTMStack) utmstack.Options {
	httpCfg := commoncfg.HTTPClientConfig{TLSConfig: u.TLSConfig, EnableHTTP2: true}
	if u.ProxyURL != nil {
		httpCfg.ProxyURL = commoncfg.URL{URL: u.ProxyURL}
	}
	creds := utmstack.Credentials{Method: u.Auth.Method, Username: u.Auth.Username, Secret: u.Auth.Secret}
	return utmstack.Options{URL: u.URL, Credentials: creds, HTTP: httpCfg}
}
