// Package e2e runs the built exporter binary against the fake UTMStack and
// scrapes it with a real Prometheus server; the chain test adds the shipped
// alert rules, a real Alertmanager and a webhook receiver. Run it with
// `make e2e`: the tests are behind the e2e build tag because they need the
// Debian packages "prometheus" and "prometheus-alertmanager" (prometheus,
// promtool and prometheus-alertmanager on PATH).
package e2e
