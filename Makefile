# The two commands a fresh machine needs: `make run` and `make test`.
# Everything else (setup, configure, build) happens on the way.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup configure build web run example test bench train asan clean

all: build

setup:
	@scripts/setup

$(BUILD_DIR)/build.ninja: CMakeLists.txt | setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: setup $(BUILD_DIR)/build.ninja

build: configure web
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The browser app, served by `youmeyou serve` from web/dist; rebuilt when its
# sources, packages or configuration change.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
  web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json
web/dist/index.html: $(WEB_SOURCES) | setup
	cd web && npm run build --silent
	@touch $@

web: setup web/dist/index.html

EXAMPLE1 = Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing
PORT ?= 4000

# The main job: the design service and its web app on port 4000 with the embedded
# SQLite store under youmeyou-data/. It prints its URL; Ctrl-C stops it gracefully.
run: build
	$(BUILD_DIR)/youmeyou serve --port $(PORT) --data youmeyou-data

# The spec's Example 1 from the command line, live (agents paced at 2% of their
# estimates so the parallelism is visible), the result written to out/example1.
example: build
	$(BUILD_DIR)/youmeyou design "$(EXAMPLE1)" --simulate-latency 0.02 --out out/example1

CTEST_ARGS ?=
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

bench: build
	$(BUILD_DIR)/bench/youmeyou_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

# Retrain the intent classifier from data/intent/*.txt into data/models/intent.model.
train: build
	scripts/train-intent

# ASan + UBSan build and tests, in a separate build tree (the npm-installed
# generated services test, the browser tests and the cluster test (real
# PostgreSQL, Redis and nginx around the same binary) are the same without
# sanitizers, so they are left out).
asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan-suppressions.txt \
	  $(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_FLAGS=-DYOUMEYOU_SANITIZE=ON \
	  CTEST_ARGS="-E 'generated_services_run|web_ui|^cluster'"

clean:
	rm -rf $(BUILD_DIR) build-asan
