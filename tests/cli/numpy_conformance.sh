#!/usr/bin/env bash
# numpy (Debian's python3-numpy) checks trueq's outputs independently.
set -u
TQ=${TQ_CLI:-build/trueq}
PY=/usr/bin/python3
$PY -c "import numpy" 2>/dev/null || { echo "skip: Debian python3-numpy is not installed (scripts/setup.sh installs it)"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
src=${TQ_SOURCE_DIR:-.}
out=$($PY "$src/tests/py/check_linear.py" "$TQ" "$T" 2>&1); rc=$?
echo "$out"
p=$(echo "$out" | grep -c '^ok'); f=$(echo "$out" | grep -c '^not ok')
echo "$p passed, $f failed"
[ $rc -eq 0 ] && [ "$f" -eq 0 ] && [ "$p" -gt 0 ]
