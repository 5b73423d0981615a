# tests/cli/lib/tap.sh — the shared TAP-style harness of the CLI test scripts.
# Source it after `set -u`; it defines:
#   ok NAME / bad NAME   count and print one result line ("ok - NAME" / "not ok - NAME")
#   check NAME EXPR      eval EXPR; ok when it succeeds, bad otherwise
#   size FILE            the file's size in bytes
#   jget FILE PYEXPR     PYEXPR evaluated with d = the JSON in FILE, printed
#   tap_end              prints the totals and returns non-zero when anything failed
# PY is the Python used by jget (Debian's, no venv: json only).
PY=${PY:-/usr/bin/python3}
fails=0; passes=0
ok()   { passes=$((passes+1)); echo "ok - $1"; }
bad()  { fails=$((fails+1)); echo "not ok - $1"; }
check(){ if eval "$2"; then ok "$1"; else bad "$1"; fi; }
size() { stat -c %s "$1"; }
jget() { $PY -c "import json,sys; d=json.load(open('$1')); print($2)"; }
tap_end() { echo "# $passes passed, $fails failed"; [ "$fails" -eq 0 ]; }
