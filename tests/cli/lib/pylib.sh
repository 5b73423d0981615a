# Sourced by the CLI tests that load libtrueq.so into a Python client (ctypes):
# sets S (source dir), B (build dir) and lib (the shared library), fails when the
# build has no libtrueq.so, and skips (77) under the sanitizer build, whose
# runtime python3 does not carry.
S=${TQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${TQ_BUILD_DIR:-$S/build}
lib=$(ls "$B"/libtrueq.so* 2>/dev/null | head -1)
[ -n "$lib" ] || { echo "not ok - $B has no libtrueq.so"; exit 1; }
if [ "${TQ_SANITIZE:-0}" = 1 ] || ldd "$lib" 2>/dev/null | grep -q libasan; then
  echo "SKIP: runs in the plain build (no sanitizer runtime in python3)"; exit 77
fi
