# Raftline. A fresh clone needs only Node 20 and npm: every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.install-stamp

.PHONY: help install build typecheck lint test demo sim bench bench-storage bench-wire bench-disk bench-produce clean

help:
	@echo "make demo   - build and run the demo (a broker: start, health, how to reach it, stop)"
	@echo "make test   - lint + typecheck + all specs"
	@echo "make sim    - run the simulator's scenarios"
	@echo "make bench  - benchmarks (not part of make test)"

# npm ci only when package-lock.json changed since the last install.
$(NPM_STAMP): package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NPM_STAMP)

install: $(NPM_STAMP)

build: install
	node scripts/build.mjs

typecheck: install
	npx tsc --noEmit -p tsconfig.json

lint: install
	npx eslint .

test: install lint typecheck build
	npx ava

demo: build
	bash scripts/demo.sh

sim: build
	@for f in specs/schedules/*.json; do node dist/sim.js run --schedule $$f --check-determinism || exit 1; done
	node dist/sim.js explore --seeds 50 --jobs 2

# Benchmarks print ratios measured side by side in one run; they are not timed tests and not part of make test.
bench: build bench-storage bench-wire bench-disk bench-produce

# The partition log against raw fs appends/reads of the same bytes on the same disk (BENCH_STORAGE_MB, BENCH_DIR).
# Bundled like dist/broker.js, so it measures the log as it ships (see scripts/build.mjs).
bench-storage: install
	node scripts/build.mjs --bench storage
	node dist/bench-storage.js

# node.ping over 127.0.0.1 against a raw ws echo of the same payloads.
bench-wire: install
	node --import tsx bench/wire.ts

# The Disk port against raw fs doing the same syscalls.
bench-disk: install
	node --import tsx bench/disk.ts

# Three real broker processes on 127.0.0.1: 1 KiB records, RF=1 acks=1 and RF=3 acks=all producer throughput, consumer
# read throughput, single-record acks=all latency (BENCH_PRODUCE_RECORDS, default 300000).
bench-produce: build
	node scripts/build.mjs --bench produce
	node dist/bench-produce.js

clean:
	rm -rf dist data .sim-out
