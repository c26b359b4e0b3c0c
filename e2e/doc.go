// Package e2e runs the built exporter binary against the fake UTMStack and
// scrapes it with a real Prometheus server. Run it with `make e2e`: the
// tests are behind the e2e build tag because they need the Debian package
// "prometheus" (prometheus and promtool on PATH).
package e2e
