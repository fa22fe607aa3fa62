# edxbus — top-level entry points. `make test` and `make demo` are each the only command a fresh
# Debian 12 machine needs: they install dependencies and build first.
BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60

.PHONY: all deps build python test test-asan bench fuzz demo install clean format

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The Python extension in place (python/edxbus/_edxbus*.so), for Debian's python3:
#   PYTHONPATH=python /usr/bin/python3 -c 'import edxbus.openedx'
python: deps build
	cd python && EDXBUS_BUILD_DIR=$(CURDIR)/$(BUILD) /usr/bin/python3 setup.py -q build_ext --inplace

test: deps build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan

test-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEDXBUS_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

bench: deps build
	@bash scripts/bench.sh $(BUILD)

fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DEDXBUS_SANITIZE=ON -DEDXBUS_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The demo's own output is what it is for: the build's goes to a log, shown only if it fails.
demo: deps
	@mkdir -p $(BUILD)
	@echo "demo: building edxbus (output in $(BUILD)/demo-build.log)"
	@$(MAKE) --no-print-directory build >$(BUILD)/demo-build.log 2>&1 || \
	  { cat $(BUILD)/demo-build.log; echo "demo: the build failed (output above)" >&2; exit 1; }
	@bash scripts/demo.sh $(BUILD)

install: build
	cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
