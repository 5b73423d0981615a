# Thin wrapper over CMake so the README's commands stay short.
#   make demo   install deps, build, synthesize the default model, convert it, print the ledger, compare
#   make check  install deps, build, run every test (ctest), then again under ASan+UBSan (clang)
#   make test   the ctest run alone
#   make asan   the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench  build and run the benchmarks (bench/README.md)
#   make fuzz   build every fuzz target with libFuzzer (clang, ASan+UBSan, cJSON/zlib/utf8proc
#               compiled from their Debian sources) and run each for FUZZ_SECONDS (default 60),
#               FUZZ_JOBS at a time; crashers are saved into fuzz/corpus/<target>/ (docs/robustness.md)
#   make valgrind  a few fast tests under Valgrind (memcheck, errors fail)
BUILD ?= build
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
CC    ?= cc

FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_BUILD   ?= build-fuzz

.PHONY: all deps build demo check test asan clang bench clean fuzz fuzz-build valgrind

all: build

deps:
	@scripts/setup.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC) >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: deps build
	@scripts/demo.sh $(BUILD)

check: test asan

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan:
	@scripts/setup.sh
	cmake -S . -B build-asan -DTQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

clang:
	cmake -S . -B build-clang -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build build-clang -j $(JOBS)

fuzz-build:
	scripts/fuzz_deps.sh $(FUZZ_BUILD)/deps
	cmake -S . -B $(FUZZ_BUILD) -DTQ_FUZZ=ON -DTQ_FUZZ_DEPS=$(abspath $(FUZZ_BUILD))/deps -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) scripts/fuzz_run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

valgrind: build
	scripts/valgrind.sh $(BUILD)

bench: deps build
	@bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-clang $(FUZZ_BUILD)
