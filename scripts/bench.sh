#!/usr/bin/env bash
# Run every benchmark of a build and print its output: scripts/bench.sh BUILD
#
# Each BUILD/bench/bench_* program checks its implementations against the reference vectors
# before timing (and aborts on a mismatch), then prints a fixed-column table and `ratio` lines.
# Timings depend on the machine, so the first lines say which one; nothing here asserts on time.
set -euo pipefail

build=${1:?usage: scripts/bench.sh BUILD}
shopt -s nullglob
benches=()
for b in "$build"/bench/bench_*; do
  [[ -f "$b" && -x "$b" ]] && benches+=("$b")
done
if [[ ${#benches[@]} -eq 0 ]]; then
  echo "bench: no bench_* programs in $build/bench (build first: make build)" >&2
  exit 1
fi

cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
echo "build:   $build (${type:-RelWithDebInfo, the default}); avro-c $(pkg-config --modversion avro-c 2>/dev/null || echo '?')"
failed=0
for b in "${benches[@]}"; do
  echo
  echo "== $(basename "$b")"
  "$b" || { echo "bench: $(basename "$b") failed (exit $?)" >&2; failed=1; }
done
# edxbus from Python (the extension in BUILD/python) against the command doing the same work.
if [[ -d "$build/python/edxbus" && -x /usr/bin/python3 ]]; then
  echo
  echo "== bench_python"
  PYTHONPATH="$build/python" EDXBUS_CLI="$build/cli/edxbus" /usr/bin/python3 bench/bench_python.py \
    || { echo "bench: bench_python failed (exit $?)" >&2; failed=1; }
fi
exit $failed
