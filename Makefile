# Self-contained: only the Go toolchain (and, for the end-to-end test and the
# demo, the Debian packages prometheus and prometheus-alertmanager) are
# needed. Prometheus' Makefile.common is not used because it downloads promu
# and golangci-lint from GitHub.

GO        ?= go
BIN       := utmstack_exporter
PKG       := github.com/prometheus/common/version
VERSION   := $(shell cat VERSION)
REVISION  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILDUSER := $(shell whoami)@$(shell hostname)
BUILDDATE := $(shell date -u +%Y%m%d-%H:%M:%S)
# No -s -w (as in .promu.yml): vulnerability scanners read the symbol table
# to see which functions are linked in.
LDFLAGS   := -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) \
             -X $(PKG).Branch=$(BRANCH) -X $(PKG).BuildUser=$(BUILDUSER) -X $(PKG).BuildDate=$(BUILDDATE)

.PHONY: all build fake test unit e2e rules-test chart-test chart-sync fuzz bench bench-load prometheus-deps demo-deps check lint fmt-check vet tidy-check config-check demo docker clean

all: check build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

fake:
	$(GO) build -o .build/fake-utmstack ./tools/fake-utmstack

# The whole chain on one machine: a fake UTMStack whose alerts live, the
# exporter, Prometheus with the shipped rules, Alertmanager with the shipped
# configuration, and the notifications printed on the terminal (tools/demo).
# exec: the demo, not a shell, gets Ctrl-C and stops everything cleanly.
demo: build demo-deps
	$(GO) build -o .build/demo ./tools/demo
	exec ./.build/demo $(DEMO_FLAGS)

# prometheus-deps for the demo: installs what it can, and the demo runs
# without what it cannot (it says what it left out).
demo-deps:
	@$(MAKE) --no-print-directory prometheus-deps DEPS_OPTIONAL=1

# The command the README and CI run.
test: check unit config-check rules-test chart-test fuzz e2e

# prometheus-deps: the dashboard's PromQL is checked by promtool (the test
# skips that part where promtool is missing).
unit: prometheus-deps
	$(GO) test -race -count=1 ./...

# The exporter binary, the fake UTMStack and a real Prometheus, on loopback.
e2e: prometheus-deps
	$(GO) test -tags e2e -count=1 ./e2e/

# Go benchmarks (about 3 minutes) and the load test (under 2 minutes): see BENCHMARKS.md.
# -cpu 1: the exporter's default GOMAXPROCS, and with one P ns/op is CPU time.
# Six rounds of -count 1 rather than -count 6, so that a slow spell of a
# shared machine spreads over every benchmark instead of spoiling one.
bench:
	for i in 1 2 3 4 5 6; do $(GO) test -p 1 ./utmstack/ ./round/ ./collector/ -run '^$$' -bench . -benchmem -count 1 -cpu 1 || exit 1; done

bench-load:
	$(GO) run ./tools/loadtest -rounds 1 -duration 5s -scrapes 3000

# A short run of every fuzz target (their seed corpora already run in unit).
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a target with "context deadline exceeded" when the time runs out
# (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 60000x
fuzz:
	@for target in FuzzParseLoginResponse FuzzParseTokenClaims FuzzTokenClaimsRoundTrip FuzzParseCounts; do \
	  $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./utmstack/ || exit 1; \
	done
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./config/

# The shipped alert rules, scrape configs and Alertmanager configuration,
# with the rules' promtool unit tests, and where Alertmanager routes every
# shipped alert (amtool config routes test, run by a Go test).
rules-test: prometheus-deps
	promtool check config examples/prometheus/prometheus.yml
	promtool check config examples/prometheus/probe.yml
	promtool check config examples/prometheus/probe-sharded.yml
	promtool check rules examples/prometheus/alerts.yml examples/prometheus/alerts-open-high.yml
	promtool test rules examples/prometheus/alerts_test.yml examples/prometheus/alerts-open-high_test.yml
	amtool check-config examples/alertmanager/alertmanager.yml
	cd examples && $(GO) test -count=1 -run '^TestAlertmanager' .

# helm at a pinned version, built from the Go module proxy as golangci-lint is
# (below): a fresh machine needs nothing else.
HELM_VERSION := v4.3.2
HELM := .build/bin/helm-$(HELM_VERSION)

$(HELM):
	@mkdir -p .build/bin
	GOBIN=$(CURDIR)/.build/bin $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	mv .build/bin/helm $@

# The Helm chart: helm lint --strict with the defaults and each test values
# file, then the Go test (its own module, so that the exporter's module graph
# stays free of Kubernetes) that renders it and decodes every object
# strictly into the Kubernetes and prometheus-operator API types, and runs
# the exporter's --config.check on each rendered configuration.
CHART := charts/utmstack-exporter
chart-test: $(HELM) build
	$(HELM) lint --strict $(CHART)
	@for values in charts/test/values/*.yaml; do \
	  echo "$(HELM) lint --strict $(CHART) --values $$values"; \
	  $(HELM) lint --strict --quiet $(CHART) --values $$values || exit 1; \
	done
	cd charts/test && $(GO) mod tidy -diff && $(GO) vet ./... && \
	  HELM=$(CURDIR)/$(HELM) EXPORTER=$(CURDIR)/$(BIN) $(GO) test -count=1 ./...

# Helm reads no file outside the chart: it carries copies of the rules and
# the dashboard, which chart-test holds to examples/, where they are edited.
chart-sync:
	cp examples/prometheus/alerts.yml $(CHART)/files/alerts.yml
	cp examples/grafana/utmstack.json $(CHART)/files/utmstack.json

# prometheus, promtool, prometheus-alertmanager and amtool come from the
# Debian packages prometheus and prometheus-alertmanager; installed here when
# missing and this is a Debian-like machine where we are root. With
# DEPS_OPTIONAL=1 (make demo) a failure is reported, not fatal.
PROMETHEUS_TOOLS := prometheus promtool prometheus-alertmanager amtool
prometheus-deps:
	@missing=; for tool in $(PROMETHEUS_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing the Debian packages prometheus and prometheus-alertmanager (for$$missing)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null \
	    || { echo "apt-get could not install them"; [ -n "$(DEPS_OPTIONAL)" ]; }; \
	  else \
	    echo "Missing:$$missing. Install the packages prometheus and prometheus-alertmanager (apt-get install prometheus prometheus-alertmanager)"; \
	    [ -n "$(DEPS_OPTIONAL)" ]; \
	  fi; \
	fi

check: fmt-check vet tidy-check lint

# golangci-lint v2 at a pinned version, built from the Go module proxy into
# .build/bin: a fresh machine needs nothing else.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := .build/bin/golangci-lint-$(GOLANGCI_LINT_VERSION)

$(GOLANGCI_LINT):
	@mkdir -p .build/bin
	GOBIN=$(CURDIR)/.build/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv .build/bin/golangci-lint $@

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

tidy-check:
	@cp go.mod .go.mod.bak && cp go.sum .go.sum.bak; \
	$(GO) mod tidy; status=0; \
	cmp -s go.mod .go.mod.bak && cmp -s go.sum .go.sum.bak || { echo "go.mod/go.sum are not tidy: run go mod tidy"; status=1; }; \
	mv .go.mod.bak go.mod; mv .go.sum.bak go.sum; exit $$status

# Checks examples/utmstack.yml as shipped, its password_file pointed at a
# temporary file (the /etc path does not exist here), and the container
# image's configuration with the password from UTMSTACK_PASSWORD.
config-check: build
	@tmp=$$(mktemp -d); echo example-password > $$tmp/password; \
	sed "s#/etc/utmstack_exporter/password#$$tmp/password#" examples/utmstack.yml > $$tmp/utmstack.yml; \
	./$(BIN) --config.check --config.file=$$tmp/utmstack.yml; status=$$?; rm -rf $$tmp; exit $$status
	@env -u UTMSTACK_API_KEY -u UTMSTACK_INTERNAL_KEY UTMSTACK_PASSWORD=example-password \
	  ./$(BIN) --config.check --config.file=examples/docker/utmstack.yml

# The container image: the linux binary where the Dockerfile expects it
# (.build/linux-<arch>/, promu's layout), then docker build. Needs a Docker
# engine; DOCKER=podman works too.
DOCKER       ?= docker
DOCKER_ARCH  ?= amd64
DOCKER_IMAGE ?= utmstack-exporter
docker:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DOCKER_ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o .build/linux-$(DOCKER_ARCH)/$(BIN) .
	$(DOCKER) build --build-arg ARCH=$(DOCKER_ARCH) -t $(DOCKER_IMAGE):$(VERSION) -t $(DOCKER_IMAGE):latest .

clean:
	rm -rf $(BIN) .build .demo
