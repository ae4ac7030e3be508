# riptide-poold build. Two commands matter to a new user: `make run` and
# `make test`; everything they need is built or installed by them.
#
# Tools are pinned and installed from the Go module proxy into .tools/bin,
# so the build needs no other network and no global installs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
# Every go command that make runs uses go.mod's toolchain directive, fetched
# through the Go module proxy on first use (about 76 MB, 10 s), whatever Go
# the machine has. A machine's own Go ignores that directive when its go.env
# says GOTOOLCHAIN=local, as Debian's and this project's CI machines do. The
# toolchain is newer than go.mod's go line (the oldest Go that builds the
# code) because it has the standard library's security fixes that
# `make vulncheck` asks for.
export GOTOOLCHAIN ?= $(shell sed -n 's/^toolchain //p' go.mod)
TOOLS_BIN := $(CURDIR)/.tools/bin
BIN       := $(CURDIR)/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)

BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
GRPCURL_VERSION            := v1.9.4
BENCHSTAT_VERSION          := v0.0.0-20260908200009-22c9c6c9d4da
GHZ_VERSION                := v0.93.0
GOVULNCHECK_VERSION        := v1.9.0
# The Go vulnerability database, as the golang.org/x/vulndb module on the Go
# module proxy (its data/osv reports, indexed by its cmd/indexdb): the one
# route to the database from a machine whose only network is the proxy.
# Newer pseudo-versions carry newer reports.
VULNDB_VERSION             := v0.0.0-20261105234957-e22db6528018

BUF       := $(TOOLS_BIN)/buf
GRPCURL   := $(TOOLS_BIN)/grpcurl
BENCHSTAT := $(TOOLS_BIN)/benchstat
GHZ       := $(TOOLS_BIN)/ghz
# govulncheck reads the standard library of the Go it was built with, so a
# toolchain bump must rebuild it: the name carries both versions.
GOVULNCHECK := $(TOOLS_BIN)/govulncheck-$(GOVULNCHECK_VERSION)-$(GOTOOLCHAIN)
VULNDB      := $(CURDIR)/.tools/vulndb-$(VULNDB_VERSION)

GUEST_WASM := internal/wasm/bundled/article.wasm
GUEST_SRCS := go.mod go.sum $(shell find guest internal/article internal/htmltree internal/wasm/dataseg -name '*.go' -not -name '*_test.go' 2>/dev/null)

# The corpus of real pages that benchmarks and quality checks read; tests
# skip with a message where it is absent.
export RIPTIDE_CORPUS_DIR ?= $(abspath $(CURDIR)/../shared/corpus/readability)
# One wazero compilation cache for every test package (see internal/testenv).
export RIPTIDE_TEST_WAZERO_CACHE ?= $(CURDIR)/.tools/wazero-test-cache

.PHONY: build run test vet lint check-generated generate breaking bench quality tools fuzz clean wasm e2e image-check deploy-check loadtest soak vulncheck compare

## build: the daemon binary in bin/ (with the bundled WASM module embedded)
build: wasm
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/riptide-poold ./cmd/riptide-poold

## run: build and start the daemon with defaults (gRPC :50051, metrics :9090)
run: build $(GRPCURL)
	$(BIN)/riptide-poold $(ARGS)

## wasm: the bundled article module, built for wasip1 with the same Go
wasm: $(GUEST_WASM)

$(GUEST_WASM): $(GUEST_SRCS) scripts/build-guest.sh
	scripts/build-guest.sh

## test: vet, buf lint, the generated-code check and every test under -race
test: wasm tools vet lint check-generated
	$(GO) test -race -timeout 20m ./...
	cd deploy/validate && $(GO) test -timeout 10m ./...

vet: wasm
	$(GO) vet ./...
	cd deploy/validate && $(GO) vet ./...
	@fmt=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); \
	if [ -n "$$fmt" ]; then echo "gofmt would change:"; echo "$$fmt"; exit 1; fi

## lint: buf lint on the API contract
lint: $(BUF)
	$(BUF) lint

## breaking: buf breaking-change check of the API against main
breaking: $(BUF)
	$(BUF) breaking --against '.git#branch=main'

## generate: regenerate gen/ from proto/ with the pinned plugins
generate: tools
	rm -rf gen
	$(BUF) generate
	@if command -v protoc >/dev/null && command -v grpc_python_plugin >/dev/null; then clients/python/generate.sh; \
	else echo "clients/python stubs not regenerated: apt-get install protobuf-compiler protobuf-compiler-grpc python3-grpc-tools"; fi

## check-generated: fail when gen/ differs from a fresh generation
check-generated: tools
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BUF) generate --output "$$tmp"; \
	if ! diff -r "$$tmp/gen" gen; then \
		echo "gen/ is stale: run 'make generate' and commit the result"; exit 1; \
	fi
	@if command -v protoc >/dev/null && command -v grpc_python_plugin >/dev/null; then clients/python/generate.sh --check; \
	else echo "clients/python stubs not checked (make clients-test checks them): no protoc/grpc_python_plugin"; fi

## deploy-check: render every Kubernetes overlay and validate it strictly (module deploy/validate)
deploy-check:
	cd deploy/validate && $(GO) test ./...

## e2e: build as the image does; run the Python, Node and grpcurl walkthroughs and every deployment check against it
e2e: tools
	scripts/e2e.sh

## image-check: build the image with buildah from a static `make build` (no pull), check its config and files, start its daemon on a read-only root and call it (needs root and Debian buildah)
image-check: tools
	CGO_ENABLED=0 $(MAKE) build
	scripts/image-check.sh

## clients-test: the Python, Node and Go client libraries' tests against real daemons, and the fleet test (three daemons, one killed mid-run) for each (docs/CLIENTS.md)
clients-test: build
	scripts/clients-test.sh

## loadtest: ghz against a fresh daemon on loopback: css, regex, fields and wasm article on the corpus at concurrency 8-256, then the saturation status checks (about 15 min on 2 cores; results in docs/LOAD.md)
loadtest: build $(GHZ)
	scripts/loadtest.sh load

## soak: mixed load for SOAK (default 60s; 10m for the documented run), then RSS, goroutines and fds within 10% of after warm-up and every pool idle
SOAK ?= 60s
soak: build $(GHZ)
	scripts/loadtest.sh soak $(SOAK)

## compare: docs/COMPARE.md: the daemon against lxml, BeautifulSoup, cheerio, Readability.js and native Go (about 15 min; needs Debian python3-grpcio python3-grpc-tools python3-lxml python3-cssselect python3-bs4, and node)
compare:
	bench/compare/run.sh

## vulncheck: govulncheck on the module against the vulnerability database pinned as VULNDB_VERSION (fetched through the Go module proxy)
vulncheck: $(GOVULNCHECK) $(VULNDB)/index/db.json
	$(GOVULNCHECK) -db file://$(VULNDB) ./...

## bench: the benchmarks (compare runs with .tools/bin/benchstat)
bench: wasm tools
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench.txt

## quality: the article extractor's scores on the shared corpora, written to docs/QUALITY.md (about two minutes on 2 cores)
quality: wasm
	$(GO) test -count=1 -run 'TestQualityReport' -v ./internal/article/ -args -quality.report=$(CURDIR)/docs/QUALITY.md
	$(GO) test -count=1 -run 'Quality|Eval' -v ./internal/article/ ./internal/wasm/

## fuzz: run each fuzz target for FUZZTIME (default 20s)
FUZZTIME ?= 20s
fuzz: wasm
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## tools: the pinned tools in .tools/bin
tools: $(BUF) $(TOOLS_BIN)/protoc-gen-go $(TOOLS_BIN)/protoc-gen-go-grpc $(GRPCURL) $(BENCHSTAT)

$(BUF):
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(TOOLS_BIN)/protoc-gen-go:
	GOBIN=$(TOOLS_BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(TOOLS_BIN)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS_BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(GRPCURL):
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
$(BENCHSTAT):
	GOBIN=$(TOOLS_BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)
# ghz and govulncheck are not in tools: make test needs neither, and ghz
# alone takes minutes to build.
$(GHZ):
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)
$(GOVULNCHECK):
	GOBIN=$(TOOLS_BIN) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	mv $(TOOLS_BIN)/govulncheck $@
# Outside the module (cd /), so that neither download touches go.mod.
$(VULNDB)/index/db.json:
	cd / && $(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION)
	cd / && $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) \
		-vulns "$$($(GO) env GOMODCACHE)/golang.org/x/vulndb@$(VULNDB_VERSION)/data/osv" -out $(VULNDB).tmp
	rm -rf $(VULNDB) && mv $(VULNDB).tmp $(VULNDB)

clean:
	rm -rf $(BIN) $(GUEST_WASM)
