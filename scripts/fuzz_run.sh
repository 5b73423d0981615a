#!/usr/bin/env bash
# fuzz_run.sh BUILD SECONDS [TARGET...] — run each libFuzzer target of a
# -DTQ_FUZZ=ON build for SECONDS (all of fuzz/fuzz_*.c when none is named),
# FUZZ_JOBS at a time (default 1), under `nice -n ${FUZZ_NICE:-10}`.
#
# Each target X starts from fuzz/corpus/X (read only) plus its own working
# corpus BUILD/fuzz-work/X (kept between runs). An input that crashes, leaks,
# hangs or trips a sanitizer is copied into fuzz/corpus/X/ as
# crash-<sha1>, so the ctest replay of that corpus (fuzz_X_replay) becomes its
# regression test, and the script exits 1. A unit libFuzzer reports as slow
# (over 10 s) is timed again on its own first: under 2 s it was the machine's
# load, and it is dropped with a line saying so. Prints one line per target:
# executions, coverage (edges), features and working-corpus size reached.
set -uo pipefail
build=${1:?usage: fuzz_run.sh BUILD SECONDS [TARGET...]}
secs=${2:?usage: fuzz_run.sh BUILD SECONDS [TARGET...]}
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
jobs=${FUZZ_JOBS:-1}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$src"/fuzz/fuzz_*.c; do n=$(basename "$f" .c); targets+=("${n#fuzz_}"); done
fi
log="$build/fuzz-logs"
mkdir -p "$log"

one() {   # one TARGET: run it, then report and save what it found
  local t=$1 bin="$build/fuzz_$1" work="$build/fuzz-work/$1" crash="$build/fuzz-crash/$1"
  [ -x "$bin" ] || { echo "fuzz $t: $bin not built (cmake -DTQ_FUZZ=ON)"; return 1; }
  mkdir -p "$work" "$crash"
  nice -n "${FUZZ_NICE:-10}" "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$crash/" "$work" "$src/fuzz/corpus/$t" >"$log/$t.log" 2>&1
  local rc=$? found=0
  for a in "$crash"/*; do
    [ -f "$a" ] || continue
    case $(basename "$a") in slow-unit-*)   # slow on a loaded machine, or slow for real: time it again alone
      local t0 t1; t0=$(date +%s%N); "$bin" "$a" >/dev/null 2>&1; t1=$(date +%s%N)
      if [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]; then
        echo "fuzz $t: $(basename "$a") was reported slow but reruns in $(( (t1 - t0) / 1000000 )) ms (machine load); not kept"
        rm -f "$a"; continue
      fi ;;
    esac
    local h; h=$(sha1sum "$a" | cut -c1-16)
    cp "$a" "$src/fuzz/corpus/$t/crash-$h"
    echo "fuzz $t: $(basename "$a") saved as fuzz/corpus/$t/crash-$h (replayed by ctest fuzz_${t}_replay)"
    rm -f "$a"; found=1
  done
  local last execs
  last=$(grep -E '^#[0-9]+' "$log/$t.log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log/$t.log" | tail -1)
  echo "fuzz $t: ${secs}s, ${execs:-?} executions, $(echo "$last" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+'), exit $rc"
  if [ $found -ne 0 ] || [ $rc -ne 0 ]; then echo "fuzz $t: FAILED, see $log/$t.log"; return 1; fi
  return 0
}

fail=0
running=0
for t in "${targets[@]}"; do
  one "$t" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n || fail=1; running=$((running - 1)); fi
done
while [ $running -gt 0 ]; do wait -n || fail=1; running=$((running - 1)); done
exit $fail
