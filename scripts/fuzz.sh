#!/usr/bin/env bash
# Run every libFuzzer target of a fuzz build for SECONDS each: scripts/fuzz.sh BUILD SECONDS
#
# Each BUILD/fuzz/fuzz_<name> starts from its seed corpus fuzz/corpus/<name>/, copied to a scratch
# folder so that the inputs it finds never land in the repository. Prints the executions per
# target; exits non-zero when any target crashes (or leaks, or trips a sanitizer), leaving the
# crashing input in BUILD/fuzz-artifacts/<name>/ and printing how to replay it.
set -euo pipefail

build=${1:?usage: scripts/fuzz.sh BUILD SECONDS}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)

shopt -s nullglob
targets=()
for t in "$build"/fuzz/fuzz_*; do
  [[ -f "$t" && -x "$t" ]] && targets+=("$t")
done
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz: no fuzz targets in $build/fuzz (configure with -DEDXBUS_FUZZ=ON and build)" >&2
  exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/edxbus-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

failed=0
printf '%-24s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  target=$(basename "$t")
  name=${target#fuzz_}
  work="$scratch/$name"
  artifacts="$build/fuzz-artifacts/$name"
  mkdir -p "$work" "$artifacts"
  seeds="$root/fuzz/corpus/$name"
  if [[ -d "$seeds" ]]; then
    cp -R "$seeds"/. "$work"/
  else
    echo "fuzz: $target has no seed corpus ($seeds); starting empty" >&2
  fi
  log="$scratch/$name.log"
  rc=0
  "$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$artifacts/" "$work" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  files=$(find "$work" -type f | wc -l)
  if [[ $rc -eq 0 ]]; then
    result=ok
  else
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-24s %12s %10s %8s  %s\n' "$target" "${execs:-?}" "${rate:-?}" "$files" "$result"
  if [[ $rc -ne 0 ]]; then
    echo "---- $target: last lines of its log ----" >&2
    tail -n 40 "$log" >&2
    crash=$(ls -t "$artifacts" 2>/dev/null | head -n 1 || true)
    if [[ -n "$crash" ]]; then
      echo "replay: $t $artifacts/$crash" >&2
    fi
  fi
done
exit $failed
