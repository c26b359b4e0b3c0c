# Self-contained: only the Go toolchain (and, for the end-to-end test, the
# Debian package "prometheus") are needed. Prometheus' Makefile.common is not
# used because it downloads promu and golangci-lint from GitHub.

GO        ?= go
BIN       := utmstack_exporter
PKG       := github.com/prometheus/common/version
VERSION   := $(shell cat VERSION)
REVISION  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILDUSER := $(shell whoami)@$(shell hostname)
BUILDDATE := $(shell date -u +%Y%m%d-%H:%M:%S)
LDFLAGS   := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) \
             -X $(PKG).Branch=$(BRANCH) -X $(PKG).BuildUser=$(BUILDUSER) -X $(PKG).BuildDate=$(BUILDDATE)

.PHONY: all build test unit check fmt-check vet tidy-check config-check clean

all: check build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

# The command the README and CI run.
test: check unit config-check

unit:
	$(GO) test -race -count=1 ./...

check: fmt-check vet tidy-check

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

config-check: build
	UTMSTACK_PASSWORD=example-password ./$(BIN) --config.check --config.file=examples/utmstack.yml

clean:
	rm -f $(BIN)
