# Herald: the two commands of the README, and the pieces they are made of.
#   make run   installs what is missing, builds, starts the hub in development mode
#   make test  installs what is missing, builds, runs every test suite
#   make fuzz  installs what is missing, runs each libFuzzer target FUZZ_SECONDS (default 60)
#   make bench-micro  builds and runs the publish path's microbenchmarks (bench/micro)
#   make package  builds the release binary and the Debian package build/herald_VERSION_ARCH.deb
#   make test-package  builds the binary, then packages, installs and checks it in a temporary root
#   make lint  clang-tidy (.clang-tidy) over src/ and the file-size rule (scripts/lint.sh)
SHELL := /bin/bash
JOBS ?= $(shell nproc)
HERALD_LISTEN ?= 127.0.0.1:8080
HERALD_DATA_DIR ?= .data
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test test-release test-sanitize format format-check bench bench-micro fuzz \
        package test-package lint clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build build --target herald -j $(JOBS)

run: build
	build/herald serve --dev --listen $(HERALD_LISTEN) --data-dir $(HERALD_DATA_DIR)

test: deps
	@bash scripts/run-tests.sh

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check:
	@clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.h')

lint: deps
	@JOBS=$(JOBS) bash scripts/lint.sh

bench: deps
	@bash scripts/install-deps.sh --bench
	@bash bench/run_compare.sh

bench-micro: deps
	@cmake --preset release >/dev/null
	@cmake --build build --target micro_bench -j $(JOBS)
	build/bench/micro/micro_bench $(MICRO_ARGS)

package: build
	@bash scripts/install-deps.sh --package
	@bash packaging/build-deb.sh build/herald build

test-package: build
	@bash scripts/install-deps.sh --package
	@bash scripts/test-package.sh

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) bash scripts/run-fuzz.sh

clean:
	rm -rf build build-debug build-tsan build-fuzz build-lint
