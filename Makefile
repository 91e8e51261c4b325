# Station — build, run and test. `make` alone lists the targets.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/station
DATA    ?= ./data
LISTEN  ?= 127.0.0.1:8080
HUB_CONSOLE ?= 127.0.0.1:8081
# The UI is embedded when npm is available; without it the binary serves a placeholder page.
HAVE_NPM := $(shell command -v npm >/dev/null 2>&1 && echo yes)
GOTAGS  := $(if $(HAVE_NPM),ui,)

.DEFAULT_GOAL := help
.PHONY: help run build ui tidy-check test test-go test-ui test-package fmt-check vet lint bench bench-sync clean dist

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## Start the demo station on $(LISTEN) and its hub console on $(HUB_CONSOLE) (make run LISTEN=… HUB_CONSOLE=… DATA=…)
	$(BIN) run --demo --data $(DATA) --listen $(LISTEN) --hub-console $(HUB_CONSOLE)

build: $(if $(HAVE_NPM),ui,) ## Build bin/station with the web UI embedded
	go build -tags '$(GOTAGS)' -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/station

kiosk-ui/node_modules: kiosk-ui/package.json kiosk-ui/package-lock.json
	cd kiosk-ui && npm ci --no-audit --no-fund
	@touch $@

# The UI is rebuilt only when one of its sources is newer than the last build (vue-tsc and vite take
# 15-20 s on two cores).
UI_SRC := $(shell find kiosk-ui/src kiosk-ui/public kiosk-ui/build -type f 2>/dev/null) kiosk-ui/index.html kiosk-ui/vite.config.ts \
	kiosk-ui/tsconfig.json kiosk-ui/package.json kiosk-ui/package-lock.json

kiosk-ui/dist/index.html: kiosk-ui/node_modules $(UI_SRC)
	cd kiosk-ui && npm run build
	@touch $@

ui: kiosk-ui/dist/index.html ## Build the kiosk, counter and setup UIs into kiosk-ui/dist (when their sources changed)

test: fmt-check vet tidy-check test-go test-ui test-package ## Everything CI runs: gofmt, go vet, go test -race, browser tests, the .deb

test-go: ## Go tests with the race detector (works without node)
	go test -race -count=1 ./...

test-ui: build ## Browser tests: headless Chromium drives the kiosk and counter against a demo station
	cd kiosk-ui && STATION_BIN=../$(BIN) node e2e/run.mjs

fmt-check: ## Fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy-check: ## Fail if go mod tidy would change go.mod or go.sum
	@go mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; go mod tidy -diff; exit 1; }

vet: ## go vet
	go vet ./...

lint: fmt-check vet ## gofmt, go vet and staticcheck
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: ## Benchmarks: intake throughput and latency vs raw SQLite, cold start, RSS, binary size
	go test -run '^$$' -bench IntakeVsRaw -benchtime 3000x ./station/sqlite/
	go test -run '^$$' -bench 'ReadCard|IdlePolling' -benchtime 20x ./devices/idcard/
	go test -run '^$$' -bench PlacedToEvent -benchtime 100x ./devices/idcard/
	go test -run '^$$' -bench PrintQueueTicket -benchtime 2000x ./devices/escpos/
	go test -run '^$$' -bench . -benchtime 5x ./devices/sim/camsim/
	$(MAKE) build
	bench/coldstart.sh $(BIN)

bench-sync: ## Sync benchmarks (~15 min): catch-up through 10 Mbit/s, hub ingest (PostgreSQL too with STATION_TEST_POSTGRES_URL), 10,000-connection storm
	go test -run '^$$' -bench CatchUpSlowLink -benchtime 1x -timeout 60m ./syncer/
	go test -run '^$$' -bench HubIngest -benchtime 2000x -timeout 30m ./syncer/hub/
	go test -run '^$$' -bench HubAdmission -benchtime 1x -timeout 60m ./syncer/hub/

# Packages: the version must start with a digit for dpkg and rpm.
PKG_VERSION ?= 0.1.0+git$(shell git log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null || echo 0)
NFPM        := go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
DIST        := bin/dist
# GOARCH → what it is built with: cgo and go-fitz's bundled MuPDF where it has one, else nomupdf.
DIST_CC_amd64   := gcc
DIST_CC_arm64   := aarch64-linux-gnu-gcc

dist: $(if $(HAVE_NPM),ui,) ## Cross-build linux/amd64, arm64 (MuPDF) and loong64 (no MuPDF) and package each as .deb and .rpm in bin/dist
	@mkdir -p $(DIST)
	CGO_ENABLED=1 CC=$(DIST_CC_amd64) GOOS=linux GOARCH=amd64 go build -tags '$(GOTAGS)' -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/linux-amd64/station ./cmd/station
	CGO_ENABLED=1 CC=$(DIST_CC_arm64) GOOS=linux GOARCH=arm64 go build -tags '$(GOTAGS)' -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/linux-arm64/station ./cmd/station
	CGO_ENABLED=0 GOOS=linux GOARCH=loong64 go build -tags '$(GOTAGS) nomupdf' -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/linux-loong64/station ./cmd/station
	for arch in amd64 arm64 loong64; do \
	  mkdir -p $(DIST)/package && cp $(DIST)/linux-$$arch/station $(DIST)/package/station || exit 1; \
	  for fmt in deb rpm; do \
	    GOARCH=$$arch VERSION=$(PKG_VERSION) $(NFPM) package --config packaging/nfpm.yaml --packager $$fmt --target $(DIST)/ || exit 1; \
	  done; \
	done
	@ls -l $(DIST)/*.deb $(DIST)/*.rpm

test-package: build ## Package bin/station as a .deb, lintian it, and install/check/remove/purge it with dpkg (root with CI=true only)
	@mkdir -p $(DIST)/package && cp $(BIN) $(DIST)/package/station
	GOARCH=$(shell go env GOARCH) VERSION=$(PKG_VERSION) $(NFPM) package --config packaging/nfpm.yaml --packager deb --target $(DIST)/
	packaging/test-deb.sh $(DIST)/station_$(PKG_VERSION)-1_$(shell go env GOARCH).deb

clean: ## Remove build output (not the data directory)
	rm -rf bin kiosk-ui/dist
