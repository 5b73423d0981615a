#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then use trueq from outside as a
# user would: every installed file, the shared library's exported symbols
# (exactly the public headers' functions, all tq_), one version everywhere,
# and tiny C programs built against the install through pkg-config (shared
# and static) and through find_package(trueq) (shared and static).
set -u
B=${TQ_BUILD_DIR:-build}
S=${TQ_SOURCE_DIR:-.}
TQ=${TQ_CLI:-$B/trueq}
CC=${TQ_CC:-cc}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0
ok()   { passes=$((passes+1)); echo "ok - $1"; }
bad()  { fails=$((fails+1)); echo "not ok - $1"; }
check(){ if eval "$2"; then ok "$1"; else bad "$1"; fi; }
for tool in pkg-config nm gcc; do
  command -v $tool >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup.sh)"; exit 77; }
done
SAN=""
[ "${TQ_SANITIZE:-0}" = 1 ] && SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"

P="$T/prefix"
cmake --install "$B" --prefix "$P" > "$T/install.log" 2>&1; rc=$?
check "cmake --install exits 0" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || { cat "$T/install.log"; exit 1; }
LIBDIR=$(dirname "$(find "$P" -name trueq.pc | head -1)")/..
LIBDIR=$(cd "$LIBDIR" && pwd)
check "binary installed and runs" '"$P/bin/trueq" --version | grep -q "^trueq "'
check "static and shared libtrueq installed" '[ -f $LIBDIR/libtrueq.a ] && [ -f $LIBDIR/libtrueq.so ] && [ -L $LIBDIR/libtrueq.so ]'
hdrs_src=$(cd "$S/include" && ls trueq*.h | sort | tr '\n' ' ')
hdrs_inst=$(cd "$P/include" 2>/dev/null && ls trueq*.h | sort | tr '\n' ' ')
check "every public header installed ($hdrs_src)" '[ "$hdrs_src" = "$hdrs_inst" ]'
check "installed headers are the source headers" 'for h in $hdrs_src; do cmp -s $S/include/$h $P/include/$h || exit 1; done'
check "pkg-config file installed" '[ -f $LIBDIR/pkgconfig/trueq.pc ]'
check "CMake package config installed" '[ -f $LIBDIR/cmake/trueq/trueqConfig.cmake ] && [ -f $LIBDIR/cmake/trueq/trueqConfigVersion.cmake ]'
check "docs under share/doc/trueq" '[ -f $P/share/doc/trueq/README.md ] && [ -f $P/share/doc/trueq/ARCHITECTURE.md ] && [ -f $P/share/doc/trueq/formats/npz.md ]'
check "man page lists every command's help" '[ -f $P/share/man/man1/trueq.1 ] && grep -q "^\.TH TRUEQ 1" $P/share/man/man1/trueq.1 &&
  [ "$(grep -c "^\.SS " $P/share/man/man1/trueq.1)" -ge 10 ] && grep -q -- "--quantize-embeddings" $P/share/man/man1/trueq.1'

# ---- exported symbols ----------------------------------------------------------
# The public API as gcc sees it: every function a public header declares
# (-aux-info lists each declaration with the file it came from).
printf '#include "%s"\n' $hdrs_src > "$T/api.c"
gcc -fsyntax-only -aux-info "$T/api.txt" -I"$S/include" "$T/api.c"
grep "/\* $S/include/\|/\* .*/include/trueq" "$T/api.txt" | grep -oE 'tq_[A-Za-z0-9_]+ \(' | tr -d ' (' | sort -u > "$T/api.syms"
SO=$(readlink -f "$LIBDIR/libtrueq.so")
nm -D --defined-only "$SO" | awk '$2 ~ /[TtDdBbRrVvWwi]/ {print $3}' | sed 's/@.*//' | sort -u > "$T/so.syms"
check "the public headers declare functions ($(wc -l < "$T/api.syms") found)" '[ "$(wc -l < "$T/api.syms")" -ge 100 ]'
check "libtrueq.so exports only tq_ symbols" '! grep -v "^tq_" "$T/so.syms"'
check "libtrueq.so exports every public function" '[ -z "$(comm -23 "$T/api.syms" "$T/so.syms")" ] || { comm -23 "$T/api.syms" "$T/so.syms"; false; }'
check "libtrueq.so exports nothing else (no internal tq_ symbol)" '[ -z "$(comm -13 "$T/api.syms" "$T/so.syms")" ] || { comm -13 "$T/api.syms" "$T/so.syms" | head; false; }'
check "libtrueq.so has a versioned soname" 'readelf -d "$SO" | grep -q "SONAME.*libtrueq\.so\.[0-9]"'

# ---- one version everywhere ----------------------------------------------------
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
v_pc=$(pkg-config --modversion trueq)
v_h=$(sed -n 's/^#define TQ_VERSION_STRING "\(.*\)"/\1/p' "$S/include/trueq.h")
v_parts=$(awk '/^#define TQ_VERSION_(MAJOR|MINOR|PATCH) /{printf "%s%s", (n++ ? "." : ""), $3}' "$S/include/trueq.h")
v_cli=$("$P/bin/trueq" --version | awk 'NR == 1 {print $2}')   # line 2 names the kernels
check "version: header string = MAJOR.MINOR.PATCH ($v_h, $v_parts)" '[ -n "$v_h" ] && [ "$v_h" = "$v_parts" ]'
check "version: pkg-config = header ($v_pc)" '[ "$v_pc" = "$v_h" ]'
check "version: CLI = header ($v_cli)" '[ "$v_cli" = "$v_h" ]'
check "version: shared library file name carries it" '[ "$(basename "$SO")" = "libtrueq.so.$v_h" ]'

# ---- a program outside the tree ---------------------------------------------------
"$P/bin/trueq" synth "$T/m" --layers 1 --dim 64 --hidden 128 --heads 4 --vocab 1000 > "$T/synth.log" 2>&1 || cat "$T/synth.log"
"$P/bin/trueq" inspect "$T/m" --json > "$T/inspect.json"
n_cli=$(/usr/bin/python3 -c "import json; print(len(json.load(open('$T/inspect.json'))['tensors']))")
cat > "$T/hello.c" <<'C'
#include <trueq.h>
#include <trueq_verify.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc != 3) return 1;
    if (strcmp(tq_version(), TQ_VERSION_STRING) != 0) { printf("version %s != %s\n", tq_version(), TQ_VERSION_STRING); return 1; }
    tq_error err;
    tq_model *m = tq_model_open(argv[1], &err);
    if (!m) { printf("open failed: %s\n", err.msg); return 1; }
    const tq_tensor *t = tq_model_tensor(m, 0);
    printf("version %s tensors %lld first %s grade %c\n", tq_version(), (long long)tq_model_count(m), t->name, tq_verify_grade(45.0));
    tq_model_close(m);
    if (tq_model_open(argv[2], &err) || err.status != TQ_E_IO) { printf("a missing file opened\n"); return 1; }
    printf("missing: %s: %s\n", tq_status_str(err.status), err.msg);
    return 0;
}
C
expect_out() {   # expect_out LABEL BINARY: the program's answers agree with the CLI's
  local out; out=$("$2" "$T/m" "$T/missing.safetensors" 2>&1); local rc=$?
  check "$1 runs" '[ $rc -eq 0 ] || { echo "$out"; false; }'
  check "$1 reads the model as the CLI does ($n_cli tensors)" 'echo "$out" | grep -q "^version $v_h tensors $n_cli first "'
  check "$1 gets the library's message for a missing file" 'echo "$out" | grep -q "^missing: .*missing\.safetensors"'
}
$CC $SAN -o "$T/hello_pc" "$T/hello.c" $(pkg-config --cflags --libs trueq) -Wl,-rpath,"$LIBDIR" 2> "$T/cc.log"; rc=$?
check "pkg-config: a program builds against libtrueq.so" '[ $rc -eq 0 ] || { cat "$T/cc.log"; false; }'
check "pkg-config: it needs libtrueq.so at run time" 'readelf -d "$T/hello_pc" | grep -q "NEEDED.*libtrueq\.so"'
expect_out "pkg-config (shared)" "$T/hello_pc"
$CC $SAN -o "$T/hello_pcs" "$T/hello.c" $(pkg-config --cflags trueq) "$LIBDIR/libtrueq.a" \
   $(pkg-config --static --libs-only-l trueq | sed 's/-ltrueq//') 2> "$T/cc.log"; rc=$?
check "pkg-config --static: a program builds against libtrueq.a" '[ $rc -eq 0 ] || { cat "$T/cc.log"; false; }'
check "pkg-config --static: it does not need libtrueq.so" '! readelf -d "$T/hello_pcs" | grep -q "NEEDED.*libtrueq"'
expect_out "pkg-config (static)" "$T/hello_pcs"

mkdir -p "$T/proj"
cp "$T/hello.c" "$T/proj/"
cat > "$T/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(hello C)
find_package(trueq REQUIRED)
add_executable(hello_shared hello.c)
target_link_libraries(hello_shared PRIVATE trueq::trueq)
add_executable(hello_static hello.c)
target_link_libraries(hello_static PRIVATE trueq::trueq_static)
message(STATUS "trueq_VERSION=${trueq_VERSION}")
CM
cmake -S "$T/proj" -B "$T/proj/b" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$SAN" \
      -DCMAKE_BUILD_RPATH="$LIBDIR" > "$T/cm.log" 2>&1 && cmake --build "$T/proj/b" >> "$T/cm.log" 2>&1; rc=$?
check "find_package(trueq): the project configures and builds" '[ $rc -eq 0 ] || { tail -30 "$T/cm.log"; false; }'
check "find_package(trueq): trueq_VERSION is the header's" 'grep -q "trueq_VERSION=$v_h$" "$T/cm.log"'
check "find_package(trueq) shared target needs libtrueq.so" 'readelf -d "$T/proj/b/hello_shared" | grep -q "NEEDED.*libtrueq\.so"'
expect_out "find_package (shared)" "$T/proj/b/hello_shared"
expect_out "find_package (static)" "$T/proj/b/hello_static"

echo "install: $passes passed, $fails failed"
[ $fails -eq 0 ]
