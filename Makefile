# Station — build, run and test. `make` alone lists the targets.

# RELEASE is the release this tree builds (a hub's --min-station-version compares it); the version adds
# the commit as build information: 0.2.0+git20261207.ec2a26b. A tag vX.Y.Z on the commit names it alone.
RELEASE := 0.2.0
VERSION ?= $(shell git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' | grep . || \
	echo $(RELEASE)+git$$(git log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null || echo 0))
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/station
DATA    ?= ./data
LISTEN  ?= 127.0.0.1:8080
HUB_CONSOLE ?= 127.0.0.1:8081
# The UI is embedded when npm is available; without it the binary serves a placeholder page.
HAVE_NPM := $(shell command -v npm >/dev/null 2>&1 && echo yes)
GOTAGS  := $(if $(HAVE_NPM),ui,)

.DEFAULT_GOAL := help
.PHONY: help run build ui tidy-check test test-go test-ui test-package fmt-check vet lint bench bench-sync clean dist windows cross-check bench-backup bench-raft bench-snapshot bench-failover

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

test: fmt-check vet tidy-check cross-check test-ui test-go test-package ## Everything CI runs: gofmt, go vet, the Windows and loong64 builds, go test -race, browser tests, the .deb and the .rpm

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

bench-raft: ## The write path through the raft log against plain SQLite and a raw fsynced INSERT, 1 and 16 clients
	go test -run '^$$' -bench WritePath -benchtime 3000x -count 2 ./station/raft/

bench-snapshot: ## A raft snapshot of a 1 GiB store and its restore at start, peak RSS, against cp + fsync of the file (same run)
	STATION_BENCH_SNAPSHOT_MB=1024 go test -run '^$$' -bench Snapshot1GiB -benchtime 1x -count 2 -timeout 30m ./station/raft/

bench-failover: build ## Failover of a station of three processes on the TLS cluster port: the leader SIGKILLed 20 times, kill to the next acknowledged write
	STATION_BIN=$(CURDIR)/$(BIN) go test -run '^$$' -bench Failover -benchtime 20x -timeout 30m ./cmd/station/

bench-backup: ## Backup and restore of a 1 GiB data directory against cp -a (same run), peak RSS; doctor's wall time
	STATION_BENCH_BACKUP_MB=1024 go test -run '^$$' -bench BackupVsCopy -benchtime 1x -timeout 30m ./cmd/station/
	go test -run '^$$' -bench Doctor -benchtime 20x ./cmd/station/

bench-sync: ## Sync benchmarks (~15 min): catch-up through 10 Mbit/s, hub ingest (PostgreSQL too with STATION_TEST_POSTGRES_URL), 10,000-connection storm
	go test -run '^$$' -bench CatchUpSlowLink -benchtime 1x -timeout 60m ./syncer/
	go test -run '^$$' -bench HubIngest -benchtime 2000x -timeout 30m ./syncer/hub/
	go test -run '^$$' -bench HubAdmission -benchtime 1x -timeout 60m ./syncer/hub/

# Packages: the version must start with a digit for dpkg and rpm.
PKG_VERSION ?= $(VERSION)
NFPM        := go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
DIST        := bin/dist
# GOARCH → what it is built with: cgo and go-fitz's bundled MuPDF where it has one, else nomupdf.
DIST_CC_amd64   := gcc
DIST_CC_arm64   := aarch64-linux-gnu-gcc

dist: $(if $(HAVE_NPM),ui,) ## Cross-build linux/amd64, arm64 (MuPDF), loong64 (no MuPDF) as .deb and .rpm, and windows/amd64 (no MuPDF) as a .zip, in bin/dist
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
	$(MAKE) --no-print-directory windows
	@ls -l $(DIST)/*.deb $(DIST)/*.rpm $(DIST)/*.zip

# Windows: no MuPDF (go-fitz's Windows library needs a newer MinGW runtime than Debian's), no cgo. The
# zip holds station.exe and the Windows notes; `station service install` registers the service.
windows: $(if $(HAVE_NPM),ui,) ## Cross-build windows/amd64 (no MuPDF) into bin/dist/station-VERSION-windows-amd64.zip
	@mkdir -p $(DIST)/windows-amd64
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build -tags '$(GOTAGS) nomupdf' -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/windows-amd64/station.exe ./cmd/station
	cp packaging/windows/README.txt $(DIST)/windows-amd64/README.txt
	rm -f $(DIST)/station-$(PKG_VERSION)-windows-amd64.zip
	cd $(DIST)/windows-amd64 && zip -q -9 ../station-$(PKG_VERSION)-windows-amd64.zip station.exe README.txt

cross-check: ## Fail if the station does not build for windows/amd64 and linux/loong64 (no cgo)
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build -tags nomupdf -o /dev/null ./cmd/station
	CGO_ENABLED=0 GOOS=linux GOARCH=loong64 go build -tags nomupdf -o /dev/null ./cmd/station

test-package: build ## Package bin/station as a .deb and an .rpm (two versions each) and install/check/upgrade/remove/purge each with dpkg and rpm (root with CI=true only)
	@mkdir -p $(DIST)/package && cp $(BIN) $(DIST)/package/station
	for fmt in deb rpm; do for v in $(PKG_VERSION) $(PKG_VERSION).1; do \
	  GOARCH=$(shell go env GOARCH) VERSION=$$v $(NFPM) package --config packaging/nfpm.yaml --packager $$fmt --target $(DIST)/ || exit 1; \
	done; done
	@# Both formats run even when the first fails; rpm names the architecture its own way (nfpm's mapping).
	arch=$(shell go env GOARCH); case $$arch in amd64) rpmarch=x86_64 ;; arm64) rpmarch=aarch64 ;; loong64) rpmarch=loongarch64 ;; *) rpmarch=$$arch ;; esac; \
	packaging/test-package.sh deb $(DIST)/station_$(PKG_VERSION)-1_$$arch.deb $(DIST)/station_$(PKG_VERSION).1-1_$$arch.deb; deb=$$?; \
	packaging/test-package.sh rpm $(DIST)/station-$(PKG_VERSION)-1.$$rpmarch.rpm $(DIST)/station-$(PKG_VERSION).1-1.$$rpmarch.rpm; rpm=$$?; \
	[ $$deb -eq 0 ] && [ $$rpm -eq 0 ]

clean: ## Remove build output (not the data directory)
	rm -rf bin kiosk-ui/dist
