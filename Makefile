# Station — build, run and test. `make` alone lists the targets.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/station
DATA    ?= ./data
LISTEN  ?= 127.0.0.1:8080
# The UI is embedded when npm is available; without it the binary serves a placeholder page.
HAVE_NPM := $(shell command -v npm >/dev/null 2>&1 && echo yes)
GOTAGS  := $(if $(HAVE_NPM),ui,)

.DEFAULT_GOAL := help
.PHONY: help run build ui test test-go test-ui fmt-check vet lint bench bench-sync clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## Start the demo station (simulated devices, seeded catalog, demo accounts) on $(LISTEN)
	$(BIN) run --demo --data $(DATA) --listen $(LISTEN)

build: $(if $(HAVE_NPM),ui,) ## Build bin/station with the web UI embedded
	go build -tags '$(GOTAGS)' -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/station

kiosk-ui/node_modules: kiosk-ui/package.json kiosk-ui/package-lock.json
	cd kiosk-ui && npm ci --no-audit --no-fund
	@touch $@

ui: kiosk-ui/node_modules ## Build the kiosk, counter and setup UIs into kiosk-ui/dist
	cd kiosk-ui && npm run build

test: fmt-check vet test-go test-ui ## Everything CI runs: gofmt, go vet, go test -race, browser tests

test-go: ## Go tests with the race detector (works without node)
	go test -race -count=1 ./...

test-ui: build ## Browser tests: headless Chromium drives the kiosk and counter against a demo station
	cd kiosk-ui && STATION_BIN=../$(BIN) node e2e/run.mjs

fmt-check: ## Fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

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

clean: ## Remove build output (not the data directory)
	rm -rf bin kiosk-ui/dist
