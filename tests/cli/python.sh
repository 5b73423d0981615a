#!/usr/bin/env bash
# The Python package end to end: build the wheel from the repository root (scikit-build-core
# over the repository's CMakeLists.txt), install it into a fresh venv, run
# python/tests with pytest there.
#   Build venv (cached, outside the repo): ${TRUEQ_PY_VENV:-~/.cache/trueq/venv-py}
#     Debian's python3 + scikit-build-core, numpy, pytest from PyPI, and a
#     wheelhouse beside it, so a fresh venv installs offline.
#   Wheel build dir (cached per source tree): ~/.cache/trueq/py-build-<hash>
# Skips (77) when PyPI cannot be reached for the first setup, and under the
# sanitizer build (the Python tests run in the plain build of `make check`).
set -u
S=${TQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${TQ_BUILD_DIR:-$S/build}
TQ=${TQ_CLI:-$B/trueq}
if [ "${TQ_SANITIZE:-0}" = 1 ]; then echo "SKIP: the Python tests run in the plain build (no sanitizer runtime in python3)"; exit 77; fi
PY=/usr/bin/python3
"$PY" -c 'import venv, ensurepip' 2>/dev/null || { echo "SKIP: python3-venv is not installed (scripts/setup.sh)"; exit 77; }
cache="${HOME:-/root}/.cache/trueq"
venv="${TRUEQ_PY_VENV:-$cache/venv-py}"
wh="$venv-wheels"
mkdir -p "$cache"
exec 9>"$venv.lock"
flock 9 || { echo "SKIP: cannot lock $venv.lock"; exit 77; }
ok() { "$venv/bin/python" -c 'import scikit_build_core, pytest, numpy' 2>/dev/null && ls "$wh"/numpy-*.whl "$wh"/pytest-*.whl >/dev/null 2>&1; }
if ! ok; then
  rm -rf "$venv" "$wh"
  { "$PY" -m venv "$venv" &&
    "$venv/bin/pip" install -q 'scikit-build-core>=0.8' numpy pytest &&
    "$venv/bin/pip" download -q -d "$wh" numpy pytest; } >&2 ||
    { echo "SKIP: cannot install scikit-build-core/numpy/pytest from PyPI into $venv (offline?)"; rm -rf "$venv" "$wh"; exit 77; }
  ok || { echo "SKIP: the build venv $venv does not work"; exit 77; }
fi
exec 9>&-
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# Build the wheel (no network: the build venv provides the backend).
bdir="$cache/py-build-$(printf %s "$S" | md5sum | cut -c1-12)"
exec 8>"$bdir.lock"; flock 8
"$venv/bin/pip" wheel -q --no-build-isolation --no-deps -w "$T/dist" "$S" \
    --config-settings=build-dir="$bdir" > "$T/wheel.log" 2>&1 ||
  { tail -40 "$T/wheel.log"; echo "not ok - the wheel builds"; exit 1; }
exec 8>&-
whl=$(ls "$T"/dist/trueq-*.whl 2>/dev/null | head -1)
[ -n "$whl" ] || { echo "not ok - the wheel builds (no trueq-*.whl)"; exit 1; }
echo "ok - the wheel builds: $(basename "$whl")"
"$PY" -m zipfile -l "$whl" | grep -q "trueq/libtrueq.so" || { echo "not ok - the wheel holds libtrueq.so"; exit 1; }
"$PY" -m zipfile -l "$whl" | grep -q "trueq/bin/trueq" || { echo "not ok - the wheel holds the CLI"; exit 1; }
# A fresh venv, installed offline from the wheel and the wheelhouse.
"$PY" -m venv "$T/venv" && "$T/venv/bin/pip" install -q --no-index --find-links "$wh" "$whl" pytest > "$T/pip.log" 2>&1 ||
  { cat "$T/pip.log"; echo "not ok - the wheel installs into a fresh venv"; exit 1; }
echo "ok - the wheel installs into a fresh venv"
# The C loader's view (bit-equality tests) and the headers' struct layouts (ctypes mirrors).
LIBS=$(sed -n 's/^Libs.private: //p' "$B/generated/trueq.pc")
${TQ_CC:-cc} -O1 -o "$T/dump_f32" "$S/python/tests/dump_f32.c" -I"$S/include" "$B/libtrueq.a" $LIBS ||
  { echo "not ok - tests/dump_f32.c builds"; exit 1; }
${TQ_CC:-cc} -o "$T/layout" "$S/python/tests/layout.c" -I"$S/include" || { echo "not ok - tests/layout.c builds"; exit 1; }
cd "$T" && PATH="$T/venv/bin:$PATH" TQ_CLI="$TQ" TQ_DUMP="$T/dump_f32" TQ_LAYOUT="$T/layout" TQ_SOURCE_DIR="$S" \
  "$T/venv/bin/python" -m pytest -q -p no:cacheprovider "$S/python/tests"
