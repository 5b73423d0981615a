#!/usr/bin/env bash
# check_warnings.sh [DIR] — build the whole tree with gcc and clang at -O0,
# -O1, -O2, -O3 and -Os with -Werror (TQ_WERROR=ON), each in DIR/<cc>-<level>
# (default /tmp/trueq-warnings), and report which combinations warn. The
# library, the CLI, the tests, the fuzz replays and the benchmarks are all
# compiled. Exit 1 when any combination fails.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/trueq-warnings}
jobs=${JOBS:-2}
fail=0
for cc in gcc clang; do
  for lvl in O0 O1 O2 O3 Os; do
    b="$out/$cc-$lvl"
    cmake -S "$src" -B "$b" -DCMAKE_C_COMPILER=$cc -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-$lvl" -DTQ_WERROR=ON >/dev/null
    if cmake --build "$b" -j "$jobs" >"$b/build.log" 2>&1; then echo "$cc -$lvl: clean"
    else echo "$cc -$lvl: FAILED"; grep -E "error|warning" "$b/build.log" | head -20; fail=1; fi
  done
done
exit $fail
