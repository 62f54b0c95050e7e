# minibase — one entry point for building, testing and running.
#
#   make build   the wasm module and the JS package (js/dist)
#   make test    every test: Go natively, Go under wasm in Node, JS against the real .wasm
#   make demo    the Node quickstart (examples/node)
#   make size    size budget of the wasm engine (raw / gzip / brotli, cost per package)
#   make bench   minibase against its peers in Node (LokiJS, sql.js, Dexie, a Map floor) and in
#                headless Chromium (IndexedDB, Dexie, LokiJS, localforage, idb-keyval);
#                writes bench/report.md and bench/report-chromium.md
#   make bench-sync  the sync server under load (server/loadtest): bench/sync-report.md
#
# Everything it needs beyond Go and Node it installs itself (npm packages,
# Go modules). npm packages come from committed lockfiles (`npm ci`, which
# never rewrites them), one install per need: the package's own (esbuild,
# typescript, fake-indexeddb: make build, make demo and the Node tests), the
# browser tests' (js/test/browser), the Worker's (server/worker), the
# benchmarks' peers (js/bench) and WeChat's tooling (js/test/miniprogram-ci).

GO      ?= go
# Go's wasm test runner with the engine's own imports (js/src/imports.js) added.
WASMEXEC := $(CURDIR)/js/test/go-wasm-exec
WASM    := js/dist/minibase.wasm
# The mini-program engine: without the node and IndexedDB adapters (-tags wx).
WASM_WX := js/dist/minibase-wx.wasm
GOSRC   := $(shell find engine fsadapter wasm -name '*.go' -not -name '*_test.go') go.mod go.sum
JSSRC   := $(shell find js/src -name '*.js' -not -name 'wasm_exec.js') js/build.mjs

.PHONY: all build deps test test-go test-go-wasm test-js test-miniprogram-ci-deps test-browser pwa demo bench bench-chromium bench-chromium-deps bench-wasm-tax fuzz clean vet

all: build

# npm ci in folder $(1) from its committed package-lock.json, then a stamp
# (folder/node_modules/.installed) so that make runs it again only when the
# lockfile or package.json changes.
define npm-ci
	@command -v node >/dev/null || { echo "node is required (Node 20+)"; exit 1; }
	@test -f $(1)/package-lock.json || { echo "$(1)/package-lock.json is missing: run 'npm install --package-lock-only' in $(1) and commit it"; exit 1; }
	cd $(1) && npm ci --no-audit --no-fund --loglevel=error
	@touch $(1)/node_modules/.installed
endef

NPM_BROWSER := js/test/browser/node_modules/.installed
NPM_WORKER  := server/worker/node_modules/.installed
NPM_BENCH   := js/bench/node_modules/.installed

node_modules/.installed: package.json $(wildcard package-lock.json)
	$(call npm-ci,.)
$(NPM_BROWSER): js/test/browser/package.json $(wildcard js/test/browser/package-lock.json)
	$(call npm-ci,js/test/browser)
$(NPM_WORKER): server/worker/package.json $(wildcard server/worker/package-lock.json)
	$(call npm-ci,server/worker)
$(NPM_BENCH): js/bench/package.json $(wildcard js/bench/package-lock.json)
	$(call npm-ci,js/bench)

deps: node_modules/.installed
	$(GO) mod download

$(WASM): $(GOSRC)
	@mkdir -p js/dist
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(WASM) ./wasm

$(WASM_WX): $(GOSRC)
	@mkdir -p js/dist
	GOOS=js GOARCH=wasm $(GO) build -tags wx -trimpath -ldflags='-s -w' -o $(WASM_WX) ./wasm

js/dist/.built: $(WASM) $(WASM_WX) $(JSSRC) node_modules/.installed
	node js/build.mjs
	@touch $@

build: js/dist/.built

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet -tags wx ./wasm/

test: build vet test-go test-go-wasm test-js test-browser test-worker

test-go:
	$(GO) test -count=1 ./...

test-go-wasm: node_modules/.installed
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$(WASMEXEC)" ./engine/... ./fsadapter/... ./wasm/...
	@# The mini-program build's own memory backend and adapters (-tags wx).
	GOOS=js GOARCH=wasm $(GO) test -count=1 -tags wx -exec="$(WASMEXEC)" ./fsadapter/memfs/ ./fsadapter/wxfs/ ./wasm/...
	@# fsadapter/idbfs again, on fake-indexeddb with the real JS host (browser-idb.js).
	MINIBASE_IDBFS_TEST=1 NODE_OPTIONS="--import $(CURDIR)/fsadapter/idbfs/testdata/node-setup.mjs" \
	  GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$(WASMEXEC)" ./fsadapter/idbfs/

# Only *.test.mjs files: helpers, stand-ins and browser pages under js/test
# are not tests; the browser tests run in Chromium (test-browser).
test-js: build test-miniprogram-ci-deps
	node --test $$(find js/test -name '*.test.mjs' -not -path 'js/test/browser/*' -not -path '*/node_modules/*' | sort)

# WeChat's own build tooling (miniprogram-ci) for js/test/wx-miniprogram-ci.test.mjs,
# installed apart from the package's dependencies; when it cannot be installed
# (offline) that test is skipped.
MPCI := js/test/miniprogram-ci
test-miniprogram-ci-deps:
	@test $(MPCI)/node_modules/.installed -nt $(MPCI)/package-lock.json || { \
	  (cd $(MPCI) && npm ci --no-audit --no-fund --loglevel=error) && touch $(MPCI)/node_modules/.installed; \
	} || echo "miniprogram-ci could not be installed: js/test/wx-miniprogram-ci.test.mjs is skipped"

# Browser: IndexedDB adapter, tabs, the PWA, in Debian's headless Chromium
# (js/test/browser/run.mjs installs it with apt-get when it is missing).
test-browser: build $(NPM_BROWSER)
	node js/test/browser/run.mjs

# The offline PWA example (examples/pwa) on http://127.0.0.1:8790.
pwa: build
	node examples/pwa/serve.mjs


demo: build
	node examples/node/quickstart.mjs

bench: build $(NPM_BENCH) $(NPM_BROWSER) bench-chromium-deps
	node js/bench/bench.mjs
	node js/bench/live-bench.mjs
	node js/bench/chromium/run.mjs
	node js/bench/chromium/live-tabs.mjs

# The Chromium half of the peers benchmark alone (bench/report-chromium.md).
bench-chromium: build $(NPM_BENCH) bench-chromium-deps
	node js/bench/chromium/run.mjs

# The same work natively and in wasm, minibase's and SQLite's (sqlite3 shell
# when installed: apt-get install sqlite3); a table per engine on stdout.
bench-wasm-tax: $(NPM_BENCH)
	node js/bench/wasm-tax.mjs

# Debian's chromium, never a downloaded browser.
bench-chromium-deps:
	@test -x "$${CHROMIUM:-/usr/bin/chromium}" || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || { echo "cannot install Debian's chromium (apt-get install -y chromium)"; exit 1; }

# Short runs of every fuzz target (the seed corpora also run in `make test`).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./engine/... ./wasm/... ./server/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# --- sync server ---
# The native sync server on SQLite (./minibase-sync.db), e.g.
#   make server SERVER_FLAGS='-addr 127.0.0.1:8788 -schema schema.json'
SERVER_FLAGS ?=
server:
	$(GO) run ./server/cmd/minibase-server $(SERVER_FLAGS)

# The Cloudflare Worker build (D1) under `wrangler dev` on 127.0.0.1, local D1.
worker: $(NPM_WORKER)
	node server/worker/dev.mjs

test-worker: build $(NPM_WORKER)
	node --test server/worker/
	# the JS sync suite again, against the Worker build under wrangler dev
	MINIBASE_SYNC_WORKER=1 node --test --test-name-pattern='against the worker server' js/test/sync.test.mjs

# The sync load test (server/loadtest): the native server as a child process
# on 127.0.0.1 against 200 devices (offline periods, a SIGKILL restart), 2,000
# idle connected devices (notice latency, memory per stream) and 50 devices
# pushing at once; writes bench/sync-report.md. LOADTEST_FLAGS adds flags.
LOADTEST_FLAGS ?=
bench-sync: $(if $(findstring -worker,$(LOADTEST_FLAGS)),$(NPM_WORKER))
	@mkdir -p bench
	$(GO) build -o bench/.minibase-server ./server/cmd/minibase-server
	$(GO) run ./server/loadtest -server-bin bench/.minibase-server -out bench/sync-report.md $(LOADTEST_FLAGS)
	@rm -f bench/.minibase-server
	@cat bench/sync-report.md

.PHONY: server worker test-worker bench-sync
# --- end sync server ---

# --- mini-programs ---
# Size budget of the wasm engine: raw, gzip and brotli of both shipped builds
# (every adapter; the mini-program one, -tags wx), the wasm proposals each
# uses, and what each package of the mini-program build costs in code.
# WASM_OPT=1 also tries binaryen's wasm-opt -Oz when it is installed (it
# saves nothing after brotli today).
size: node_modules/.installed
	node js/size.mjs $(if $(WASM_OPT),--wasm-opt)

.PHONY: size
# --- end mini-programs ---

clean:
	rm -rf js/dist node_modules/.installed $(NPM_BROWSER) $(NPM_WORKER) $(NPM_BENCH) $(MPCI)/node_modules/.installed
