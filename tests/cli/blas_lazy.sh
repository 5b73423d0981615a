#!/usr/bin/env bash
# OpenBLAS and LAPACKE are loaded at their first use (src/core/blas.c), not
# at every start of the trueq executable: the executable does not link them,
# `trueq convert` runs without loading them (its start-up pays nothing for
# them), and a command that needs them (embed: sgemm) loads them and works;
# with them unloadable (TRUEQ_OPENBLAS naming no file) embed still works, on
# the portable reference routines, and gives the same vectors to ~1e-5; and
# --version, a note after a command, and the spectra's reasons say which
# routines served and why OpenBLAS/LAPACKE could not be loaded.
set -u
CLI=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
command -v ldd >/dev/null || { echo "skip: no ldd"; exit 77; }

check "the executable does not link OpenBLAS or LAPACKE" '! ldd "$CLI" | grep -qiE "openblas|lapack"'
"$CLI" synth "$T/m" --layers 1 --dim 64 --hidden 128 --heads 4 --vocab 1000 >/dev/null 2>&1 || { echo "not ok - synth"; exit 1; }
LD_DEBUG=files "$CLI" convert "$T/m" -o "$T/c" --bits 8 >/dev/null 2>"$T/conv.log"; rc=$?
check "convert --bits 8 exits 0" '[ $rc -eq 0 ]'
check "convert never loads OpenBLAS" '! grep -qi "openblas" "$T/conv.log"'
LD_DEBUG=files "$CLI" embed "$T/m" "the cat sat." --json >"$T/e1.json" 2>"$T/embed.log"; rc=$?
check "embed exits 0" '[ $rc -eq 0 ]'
check "embed loads OpenBLAS (at first use)" 'grep -q "file=.*openblas.*\[0\];  dynamically loaded by" "$T/embed.log"'
TRUEQ_OPENBLAS=/nonexistent/libopenblas.so.0 "$CLI" embed "$T/m" "the cat sat." --json >"$T/e2.json" 2>/dev/null; rc=$?
check "embed without OpenBLAS exits 0" '[ $rc -eq 0 ]'
if command -v python3 >/dev/null; then
  check "embed without OpenBLAS: the same vector to 1e-5" 'python3 - "$T/e1.json" "$T/e2.json" <<PYEOF
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
va = [e["vector"] for e in a["embeddings"]]
vb = [e["vector"] for e in b["embeddings"]]
assert va and len(va) == len(vb) and len(va[0]) == 64, (len(va), len(vb))
d = max(abs(x - y) for u, v in zip(va, vb) for x, y in zip(u, v))
assert d < 1e-5, d
PYEOF'
fi
# which routines serve, said where a user looks: --version, and a note when the stand-ins served
"$CLI" --version >"$T/v1" 2>&1
check "--version names OpenBLAS and LAPACKE" 'grep -q "^blas: OpenBLAS (.*); LAPACKE (" "$T/v1"'
TRUEQ_OPENBLAS=/nonexistent/libopenblas.so.0 "$CLI" --version >"$T/v2" 2>&1
check "--version without OpenBLAS: the stand-ins and the file it could not load" \
  'grep -q "^blas: portable reference loops, much slower (OpenBLAS not loaded: /nonexistent/libopenblas.so.0" "$T/v2"'
TRUEQ_ISA=decode TRUEQ_OPENBLAS=/nonexistent/libopenblas.so.0 "$CLI" embed "$T/m" "the cat sat." --json >/dev/null 2>"$T/e2.err"   # decode: attention by sgemm
check "embed on the stand-ins says so on stderr" 'grep -q "^trueq: note: blas: portable reference loops" "$T/e2.err"'
"$CLI" embed "$T/m" "the cat sat." --json >/dev/null 2>"$T/e1.err"
check "embed with OpenBLAS: no note" '! grep -q "note: blas" "$T/e1.err"'
TRUEQ_LAPACKE=/nonexistent/liblapacke.so.3 "$CLI" spectrum "$T/m" --json >"$T/s.json" 2>"$T/s.err"; rc=$?
check "spectrum without LAPACKE exits 2 (no fit could run)" '[ $rc -eq 2 ]'
check "spectrum without LAPACKE: stderr says every fit failed and why" \
  'grep -q "every fit failed (.* of .* analysed tensors), the first: .*LAPACKE could not be loaded" "$T/s.err"'
"$CLI" spectrum "$T/m" --json >/dev/null 2>&1; rc=$?
check "spectrum with LAPACKE exits 0" '[ $rc -eq 0 ]'
check "spectrum without LAPACKE: each fit's reason names the missing LAPACK" \
  'grep -q "need LAPACK.s dgesdd, and LAPACKE could not be loaded" "$T/s.json"'
check "spectrum without LAPACKE: the note says why it could not be loaded" \
  'grep -q "no LAPACK (LAPACKE not loaded: /nonexistent/liblapacke.so.3" "$T/s.err"'
exit $fail
