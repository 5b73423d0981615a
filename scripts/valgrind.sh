#!/usr/bin/env bash
# valgrind.sh BUILD [TEST...] — run a few fast tests of BUILD under Valgrind
# memcheck (the CI job of issue 14, point 7: uninitialised reads, invalid
# accesses and definite leaks fail). Test names are ctest names: test_X runs
# BUILD/test_X, fuzz_X_replay replays fuzz/corpus/X. Exit 0 when Valgrind is
# missing (said so), 1 on any error.
set -uo pipefail
build=${1:?usage: valgrind.sh BUILD [TEST...]}
shift
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
if ! command -v valgrind >/dev/null; then echo "valgrind.sh: valgrind not installed; skipped"; exit 0; fi
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test_error test_format test_safetensors test_npz test_npz_corrupt test_faults
                                fuzz_safetensors_replay fuzz_npz_replay fuzz_config_replay fuzz_gguf_replay)
export TQ_SOURCE_DIR="$src" TQ_BUILD_DIR="$build" TQ_CLI="$build/trueq"
fail=0
for t in "${tests[@]}"; do
  args=()
  case $t in fuzz_*_replay) c=${t#fuzz_}; args=("$src/fuzz/corpus/${c%_replay}") ;; esac
  if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       --show-leak-kinds=definite "$build/$t" "${args[@]}" >"$build/valgrind-$t.log" 2>&1; then
    echo "valgrind $t: clean"
  else
    rc=$?
    [ $rc -eq 77 ] && { echo "valgrind $t: skipped"; continue; }
    echo "valgrind $t: FAILED (exit $rc), see $build/valgrind-$t.log"; tail -30 "$build/valgrind-$t.log"; fail=1
  fi
done
exit $fail
