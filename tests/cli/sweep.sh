#!/usr/bin/env bash
# `trueq sweep` end to end (docs/sweep.md): the same plan run in one process,
# as two --shard runs joined by --merge, and under mpirun with 1, 2 and 3 ranks
# gives byte-identical tables; a killed run and its rerun (finished tasks
# skipped); plan errors name their line; --merge names missing tasks; a failing
# task names itself and why; the HTML report renders with its plots (headless
# Chromium). With unit: tensor (a spectrum task per matrix and setting) the rows
# equal unit: model's, and 1 process, 3 shards, 1/2/3 ranks, a SIGKILLed run and
# SIGKILLed ranks then rerun all give the same bytes. The MPI part is skipped (exit 77 at the end) when mpirun or an MPI
# build is absent; the Chromium part when chromium is.
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/tap.sh"   # ok, bad, check, size, jget, tap_end
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TRUEQ_THREADS=1 OPENBLAS_NUM_THREADS=1
ST=${TRUEQ_MODELS:-${TQ_SOURCE_DIR:-.}/../shared/models}/stories260k
skipped=""

"$TQ" synth "$T/db" --arch distilbert --shape tiny --quiet > /dev/null 2>&1
"$TQ" synth "$T/sm" --layers 1 --dim 64 --hidden 128 --heads 4 --vocab 600 --quiet > /dev/null 2>&1
{
  echo "models:"
  echo "  - name: distilbert"
  echo "    model: $T/db"
  echo "  - name: small"
  echo "    model: $T/sm"
  echo "    codecs: [linear-sym]"
  if [ -f "$ST/stories260K.safetensors" ]; then echo "  - name: stories"; echo "    model: $ST"; fi
  echo "codecs: linear-affine"
  echo "bits: [8, 4, 2]"
} > "$T/plan.yaml"
[ -f "$ST/stories260K.safetensors" ] || echo "# stories260k not found (TRUEQ_MODELS): the plan has the synthetic models only"
NT=$(( $(grep -c "model:" "$T/plan.yaml") * 4 ))

# ---- tasks: ids, costs, schedule -----------------------------------------------
"$TQ" sweep "$T/plan.yaml" --list --json > "$T/l1.json"; rc=$?
"$TQ" sweep "$T/plan.yaml" --list --shard 1/3 --json > "$T/l3.json"
check "--list: one task per model and setting plus a baseline each, 16-hex ids" \
  '[ $rc -eq 0 ] && [ "$(jget $T/l1.json "len(d[\"list\"])")" = "$NT" ] && jget $T/l1.json "all(len(t[\"id\"])==16 and int(t[\"id\"],16)>=0 for t in d[\"list\"])" | grep -q True'
check "ids do not depend on the shard count" '[ "$(jget $T/l1.json "[t[\"id\"] for t in d[\"list\"]]")" = "$(jget $T/l3.json "[t[\"id\"] for t in d[\"list\"]]")" ]'
sed 's/bits: \[8, 4, 2\]/bits: [4]/' "$T/plan.yaml" > "$T/plan4.yaml"
"$TQ" sweep "$T/plan4.yaml" --list --json > "$T/l4.json"
check "a task's id is its own: the 4-bit tasks keep their ids in a smaller plan" \
  '$PY -c "import json,sys; a={t[\"id\"] for t in json.load(open(sys.argv[1]))[\"list\"]}; b={t[\"id\"] for t in json.load(open(sys.argv[2]))[\"list\"]}; assert b < a and len(b)==len(a)//2" $T/l1.json $T/l4.json'
check "costs come from shapes: DistilBERT's 2-bit task costs more than the small model's" \
  'jget $T/l1.json "[t[\"cost\"] for t in d[\"list\"] if t[\"setting\"].endswith(\"/2/default\")]" | $PY -c "import sys,ast; c=ast.literal_eval(sys.stdin.read()); assert c[0] > c[1] > 0"'
check "LPT over 3 shards: every shard has work, the heaviest task is alone or shared fairly" \
  '$PY -c "import json,sys; L=json.load(open(sys.argv[1]))[\"list\"]; s=[sum(t[\"cost\"] for t in L if t[\"shard\"]==k) for k in (1,2,3)]; assert min(s)>0 and max(s) <= max(t[\"cost\"] for t in L) + min(s)" $T/l3.json'

# ---- one process, two shards + merge ------------------------------------------
"$TQ" sweep "$T/plan.yaml" --out "$T/o1" --json -q > "$T/one.json"; rc=$?
check "one process: every task done, exit 0" '[ $rc -eq 0 ] && [ "$(ls $T/o1/*.json | wc -l)" = "$NT" ] && [ "$(jget $T/one.json "d[\"tasks\"]")" = "$NT" ]'
check "the table holds weight error, alpha and the comparison (error grows as bits fall)" \
  'jget $T/one.json "[r[\"rel_error\"] for r in d[\"rows\"] if r[\"model\"]==\"distilbert\" and r[\"codec\"]]" | $PY -c "import sys,ast; e=ast.literal_eval(sys.stdin.read()); assert 0 < e[0] < e[1] < e[2]" &&
   jget $T/one.json "all(r[\"alpha_mean\"] > 0 and len(r[\"alpha\"]) > 0 for r in d[\"rows\"])" | grep -q True &&
   jget $T/one.json "[r.get(\"cosine_pooled\") for r in d[\"rows\"] if r[\"model\"]==\"distilbert\" and r[\"codec\"]]" | $PY -c "import sys,ast; c=ast.literal_eval(sys.stdin.read()); assert 1 >= c[0] > c[1] > c[2] > 0"'
"$TQ" sweep "$T/plan.yaml" --out "$T/o1" > "$T/one.txt" 2> "$T/one.err"
check "a rerun over finished results runs nothing" '[ "$(grep -c "done before, skipped" $T/one.err)" = "$NT" ]'
"$TQ" sweep "$T/plan.yaml" --out "$T/o2" --shard 2/2 -q > /dev/null; r2=$?
"$TQ" sweep "$T/plan.yaml" --out "$T/o2" --shard 1/2 -q > /dev/null; r1=$?
"$TQ" sweep "$T/plan.yaml" --merge "$T/o2" --json > "$T/two.json"; rc=$?
check "two shards (run in reverse order) + --merge: the same JSON bytes" '[ $r1$r2$rc = 000 ] && cmp -s $T/one.json $T/two.json'
"$TQ" sweep "$T/plan.yaml" --merge "$T/o2" > "$T/two.txt"
"$TQ" sweep "$T/plan.yaml" --merge "$T/o1" --csv > "$T/one.csv"
"$TQ" sweep "$T/plan.yaml" --merge "$T/o2" --csv > "$T/two.csv"
check "... and the same text and CSV bytes" 'cmp -s $T/one.txt $T/two.txt && cmp -s $T/one.csv $T/two.csv && [ "$(wc -l < $T/one.csv)" = $((NT + 1)) ]'

"$TQ" sweep "$T/plan.yaml" --out "$T/o2" --shard 1/2 --html "$T/x.html" > /dev/null 2> "$T/sh.err"; rc=$?
check "a --shard run with --html: usage error pointing to --merge" '[ $rc -eq 1 ] && grep -q "to the --merge" $T/sh.err && [ ! -e $T/x.html ]'

# ---- missing tasks are named, not merged away ------------------------------------
"$TQ" sweep "$T/plan.yaml" --out "$T/o3" --shard 1/2 -q > /dev/null
"$TQ" sweep "$T/plan.yaml" --merge "$T/o3" > "$T/m3.txt" 2> "$T/m3.err"; rc=$?
"$TQ" sweep "$T/plan.yaml" --list --shard 1/2 --json > "$T/l2.json"
miss_ok=1
for id in $(jget "$T/l2.json" "' '.join(t['id'] for t in d['list'] if t['shard']==2)"); do grep -q "missing task $id" "$T/m3.err" || miss_ok=0; done
check "--merge with shard 2 absent: exit 2, no table, every missing task named" \
  '[ $rc -eq 2 ] && [ ! -s $T/m3.txt ] && [ $miss_ok = 1 ] && grep -q "have no result" $T/m3.err'

# ---- a killed run, then a rerun -----------------------------------------------------
setsid "$TQ" sweep "$T/plan.yaml" --out "$T/o4" -q > /dev/null 2>&1 & pid=$!
for _ in $(seq 1 1500); do [ "$(ls $T/o4/*.json 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.02; done
kill -TERM -- -$pid 2>/dev/null; wait $pid 2>/dev/null
sleep 0.2
before=$(ls $T/o4/*.json 2>/dev/null | wc -l)
"$TQ" sweep "$T/plan.yaml" --out "$T/o4" > "$T/four.txt" 2> "$T/four.err"; rc=$?
check "killed after $before of $NT tasks: the rerun skips those and completes the same table" \
  '[ $rc -eq 0 ] && [ $before -ge 2 ] && [ "$(grep -c "done before, skipped" $T/four.err)" = "$before" ] && cmp -s $T/one.txt $T/four.txt'
check "no work directories are left behind" '[ -z "$(ls -A $T/o4/.work)" ]'

# ---- unit: tensor: a spectrum task per 2-D matrix ------------------------------------
printf 'models:\n  - name: small\n    model: %s\n    unit: tensor\ncodecs: linear-affine\nbits: [8, 2]\nmeasures: [weight-error, spectrum]\n' "$T/sm" > "$T/pt.yaml"
sed 's/unit: tensor/unit: model/' "$T/pt.yaml" > "$T/pm.yaml"
"$TQ" sweep "$T/pt.yaml" --list --json > "$T/lt.json"; rc=$?
NTT=$(jget "$T/lt.json" "len(d['list'])")
check "unit tensor: --list has 3 model tasks and a task per matrix and setting, the kept embedding's shared by every setting" \
  '[ $rc -eq 0 ] && $PY -c "
import json, sys
L = json.load(open(sys.argv[1]))[\"list\"]; T = [t for t in L if \"tensor\" in t]
E = [t for t in T if \"word_embeddings\" in t[\"tensor\"]]
assert len(L) - len(T) == 3 and len(E) == 1 and E[0][\"setting\"] == \"fp\" and len({t[\"id\"] for t in L}) == len(L)
assert len(T) > 2 * len({t[\"tensor\"] for t in T})" $T/lt.json'
check "unit tensor: costs follow the SVD route: a square 64x64 (dgesdd) over a 128x64 of twice the weights (Gram); a 2-bit 128x64 (N < 3M: the Gram route may be refused) over its 8-bit task" \
  '$PY -c "
import json, sys
T = [t for t in json.load(open(sys.argv[1]))[\"list\"] if \"tensor\" in t]
c = {(t[\"tensor\"].split(\".\")[-2], t[\"setting\"].split(\"/\")[1] if \"/\" in t[\"setting\"] else \"fp\"): t[\"cost\"] for t in T}
assert c[(\"q_lin\", \"fp\")] > c[(\"lin1\", \"fp\")], c
assert c[(\"lin1\", \"2\")] > c[(\"lin1\", \"8\")], c" $T/lt.json'
"$TQ" sweep "$T/pt.yaml" --out "$T/t1" --json -q > "$T/t1.json"; rc=$?
"$TQ" sweep "$T/pm.yaml" --out "$T/tm" --json -q > "$T/tm.json"
check "unit tensor: one process, every task's result, the rows of unit model (alpha per layer, mean, error, ledger)" \
  '[ $rc -eq 0 ] && [ "$(ls $T/t1/*.json | wc -l)" = "$NTT" ] && $PY -c "
import json, sys
a, b = (json.load(open(f))[\"rows\"] for f in sys.argv[1:3])
assert len(a) == len(b) == 3
for x, y in zip(a, b):
    X, Y = ({l[\"layer\"]: l[\"alpha\"] for l in r.pop(\"alpha\")} for r in (x, y))
    x.pop(\"id\"); y.pop(\"id\")
    assert x == y and X == Y and len(X) > 5, (x, y)
assert a[2][\"alpha_mean\"] != a[0][\"alpha_mean\"]" $T/t1.json $T/tm.json'
for k in 3 1 2; do "$TQ" sweep "$T/pt.yaml" --out "$T/t3" --shard $k/3 -q > /dev/null; done
"$TQ" sweep "$T/pt.yaml" --merge "$T/t3" --json > "$T/t3.json"; rc=$?
check "unit tensor: 3 shards + --merge: the same JSON bytes" '[ $rc -eq 0 ] && cmp -s $T/t1.json $T/t3.json'
"$TQ" sweep "$T/pt.yaml" --out "$T/t4" --shard 1/2 -q > /dev/null
"$TQ" sweep "$T/pt.yaml" --merge "$T/t4" > /dev/null 2> "$T/t4.err"; rc=$?
check "unit tensor: a merge with a shard absent names the missing tensor tasks" \
  '[ $rc -eq 2 ] && grep -q "missing task [0-9a-f]\{16\}: small, .*, tensor distilbert\." $T/t4.err'
setsid "$TQ" sweep "$T/pt.yaml" --out "$T/t5" -q > /dev/null 2>&1 & pid=$!
for _ in $(seq 1 1500); do [ "$(ls $T/t5/*.json 2>/dev/null | wc -l)" -ge 6 ] && break; sleep 0.01; done
kill -KILL -- -$pid 2>/dev/null; wait $pid 2>/dev/null
before=$(ls $T/t5/*.json 2>/dev/null | wc -l)
"$TQ" sweep "$T/pt.yaml" --out "$T/t5" --json > "$T/t5.json" 2> "$T/t5.err"; rc=$?
check "unit tensor: killed (SIGKILL) after $before of $NTT tasks, the rerun skips those and gives the same bytes" \
  '[ $rc -eq 0 ] && [ $before -ge 6 ] && [ "$(grep -c "done before, skipped" $T/t5.err)" = "$before" ] && cmp -s $T/t1.json $T/t5.json'
"$TQ" sweep "$T/pt.yaml" --merge "$T/t1" --html "$T/rt.html" > /dev/null; rc=$?
check "unit tensor: --html has the alpha-per-layer plot from the tensor tasks (3 series)" \
  '[ $rc -eq 0 ] && [ "$(grep -o "<svg" $T/rt.html | wc -l)" = 2 ] && [ "$(grep -o "class=\"series\"" $T/rt.html | wc -l)" -ge 3 ]'

# ---- a failing task -----------------------------------------------------------------
printf 'models:\n  - model: %s\ncodecs: nf4\nbits: [4, 3]\nmeasures: weight-error\n' "$T/sm" > "$T/bad.yaml"
"$TQ" sweep "$T/bad.yaml" --out "$T/o5" > "$T/five.txt" 2> "$T/five.err"; rc=$?
check "a task that fails: exit 2, its row says why, the others are done" \
  '[ $rc -eq 2 ] && grep -q "nf4/3/default  FAILED: convert exited 2: .*does not support 3 bits" $T/five.txt && grep -q "nf4/4/default  *[0-9]" $T/five.txt'
check "... the run names the task, and its result file records the reason" \
  'grep -q "task [0-9a-f]\{16\} (.*, nf4/3/default): convert exited" $T/five.err && grep -l "\"ok\": false" $T/o5/*.json | xargs grep -q "does not support 3 bits"'

# ---- plan errors name the file and line -----------------------------------------------
perr() {  # perr NAME LINE PATTERN PLAN: PLAN fails, naming e.yaml:LINE and PATTERN
  printf '%s' "$4" > "$T/e.yaml"
  "$TQ" sweep "$T/e.yaml" --list > /dev/null 2> "$T/e.err"; local rc=$?
  check "plan error: $1 (line $2)" "[ $rc -eq 2 ] && grep -q 'e.yaml:$2: .*$3' $T/e.err"
}
perr "unknown key" 4 'unknown key "codex"' "$(printf 'models:\n  - model: %s\nbits: [8, 4]\ncodex: nf4\n' "$T/sm")"
perr "bits out of range" 5 '"99" is not a bit width' "$(printf 'models:\n  - model: %s\nbits:\n  - 8\n  - 99\n' "$T/sm")"
perr "unknown codec in a model" 3 'unknown codec "nope"' "$(printf 'models:\n  - model: %s\n    codecs: [linear-affine, nope]\nbits: 4\n' "$T/sm")"
perr "unknown measure" 4 'unknown measure "speed"' "$(printf 'models:\n  - model: %s\nbits: 4\nmeasures: [spectrum, speed]\n' "$T/sm")"
perr "bad granularity" 4 'granularity' "$(printf 'models:\n  - model: %s\nbits: 4\ngranularity: group:x\n' "$T/sm")"
perr "a model without a path" 4 'has no "model"' "$(printf 'models:\n  - name: a\n    model: %s\n  - name: b\nbits: 4\n' "$T/sm")"
perr "a model that cannot be opened" 3 'absent' "$(printf 'models:\n  - model: %s\n  - model: %s/absent\nbits: 4\n' "$T/sm" "$T")"
perr "invalid YAML" 3 'not valid YAML' "$(printf 'models:\n  - model: %s\n bits: [4\n' "$T/sm")"
perr "no bits anywhere" 2 'no "bits"' "$(printf 'models:\n  - model: %s\n' "$T/sm")"
perr "a bad unit" 3 'unit: "layer" is not auto, model or tensor' "$(printf 'models:\n  - model: %s\n    unit: layer\nbits: 4\n' "$T/sm")"
perr "a list where a path belongs" 3 'model: expected a single value' "$(printf 'models:\n  - name: x\n    model: [a, b]\nbits: 4\n')"

# ---- the HTML report ------------------------------------------------------------------
"$TQ" sweep "$T/plan.yaml" --merge "$T/o1" --html "$T/r.html" > /dev/null; rc=$?
NM=$(grep -c "model:" "$T/plan.yaml")
check "--html: one page, an alpha plot per model plus the bits-vs-error plot, no network" \
  '[ $rc -eq 0 ] && [ "$(grep -o "<svg" $T/r.html | wc -l)" = $((NM + 1)) ] && ! grep -qE "(src|href)=" $T/r.html && grep -q "Ledger totals" $T/r.html'
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROME" ]; then
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" --dump-dom "file://$T/r.html" > "$T/dom.html" 2>/dev/null
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" --screenshot="$T/shot.png" --window-size=1200,2400 "file://$T/r.html" > /dev/null 2>&1
  check "headless Chromium renders it: the plots are in its DOM (svg, series, polylines)" \
    '[ "$(grep -o "<svg" $T/dom.html | wc -l)" = $((NM + 1)) ] && [ "$(grep -o "class=\"series\"" $T/dom.html | wc -l)" -ge $((NM * 4)) ] && grep -q "<polyline" $T/dom.html'
  check "... and draws a screenshot of it" '[ -s $T/shot.png ] && [ "$(head -c 4 $T/shot.png | od -An -c | tr -d " ")" = "211PNG" ]'
else
  echo "# skip Chromium part: chromium not installed (scripts/setup.sh installs it)"
fi

# ---- MPI: 1, 2 and 3 ranks ------------------------------------------------------------
# Under the sanitizer build, Open MPI's own allocations (libmpi and its dlopen'ed
# components) are reported as leaks at exit: leak detection is off for the ranks
# (everything else in trueq is still checked by ASan and UBSan there).
[ "${TQ_SANITIZE:-0}" = 1 ] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
if ! command -v mpirun > /dev/null; then
  skipped="mpirun not found (openmpi-bin)"
elif ! mpirun -n 2 --oversubscribe "$TQ" sweep "$T/plan4.yaml" --list > /dev/null 2>&1 ||
     mpirun -n 2 --oversubscribe "$TQ" sweep "$T/plan4.yaml" --out "$T/probe" -q 2>&1 | grep -q "built without MPI"; then
  skipped="this trueq was built without MPI (libopenmpi-dev, TQ_MPI)"
else
  for n in 1 2 3; do
    mpirun -n $n --oversubscribe "$TQ" sweep "$T/plan.yaml" --out "$T/mpi$n" --json -q > "$T/mpi$n.json" 2> "$T/mpi$n.err"; rc=$?
    check "mpirun -n $n: exit 0 and the same JSON bytes as one process" '[ $rc -eq 0 ] && cmp -s $T/one.json $T/mpi$n.json'
  done
  # MPMD: rank 0 and rank 1 get different --out directories, as on machines without a shared one
  mpirun --oversubscribe -n 1 "$TQ" sweep "$T/plan.yaml" --out "$T/mA" --json -q : -n 1 "$TQ" sweep "$T/plan.yaml" --out "$T/mB" -q > "$T/mpmd.json"; rc=$?
  check "no shared directory needed: rank 0 receives rank 1's results and merges the same bytes" \
    '[ $rc -eq 0 ] && cmp -s $T/one.json $T/mpmd.json && [ "$(ls $T/mA/*.json | wc -l)" = "$NT" ] && [ "$(ls $T/mB/*.json | wc -l)" -lt "$NT" ]'
  for n in 1 2 3; do
    mpirun -n $n --oversubscribe "$TQ" sweep "$T/pt.yaml" --out "$T/tmpi$n" --json -q > "$T/tmpi$n.json" 2> "$T/tmpi$n.err"; rc=$?
    check "unit tensor: mpirun -n $n gives the one-process bytes" '[ $rc -eq 0 ] && cmp -s $T/t1.json $T/tmpi$n.json'
  done
  setsid mpirun -n 2 --oversubscribe "$TQ" sweep "$T/pt.yaml" --out "$T/tk" -q > /dev/null 2>&1 & pid=$!
  for _ in $(seq 1 1500); do [ "$(ls $T/tk/*.json 2>/dev/null | wc -l)" -ge 6 ] && break; sleep 0.01; done
  pkill -KILL -P $pid 2>/dev/null; kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null   # the ranks, then mpirun
  before=-1; while [ "$before" != "$(ls $T/tk/*.json 2>/dev/null | wc -l)" ]; do before=$(ls $T/tk/*.json 2>/dev/null | wc -l); sleep 0.5; done
  mpirun -n 2 --oversubscribe "$TQ" sweep "$T/pt.yaml" --out "$T/tk" --json > "$T/tk.json" 2> "$T/tk.err"; rc=$?
  check "unit tensor: ranks killed after $before of $NTT results; mpirun -n 2 again skips them, same bytes" \
    '[ $rc -eq 0 ] && [ $before -ge 6 ] && [ "$(grep -c "done before, skipped" $T/tk.err)" -ge 1 ] && cmp -s $T/t1.json $T/tk.json'
  mpirun -n 3 --oversubscribe "$TQ" sweep "$T/plan.yaml" --out "$T/mpi3" --shard 1/2 > /dev/null 2> "$T/mx.err"; rc=$?
  check "mpirun with --shard: refused" '[ $rc -ne 0 ] && grep -q "give one" $T/mx.err'
  # The MPI plugin (tools/mpi_plugin.h): the executable itself does not link libmpi; a
  # plugin that cannot be loaded refuses the ranks, naming the path, and writes no result.
  check "trueq does not link libmpi (the plugin libtrueq_mpi.so does)" '! ldd "$TQ" | grep -q libmpi'
  TRUEQ_MPI_PLUGIN=$T/no/libtrueq_mpi.so mpirun -n 2 --oversubscribe "$TQ" sweep "$T/plan4.yaml" --out "$T/nopl" -q > /dev/null 2> "$T/nopl.err"; rc=$?
  check "plugin missing: mpirun -n 2 refused, the path named, no result written" \
    '[ $rc -ne 0 ] && grep -q "MPI plugin could not be loaded: $T/no/libtrueq_mpi.so" $T/nopl.err && [ "$(ls $T/nopl/*.json 2>/dev/null | wc -l)" = 0 ]'
fi

tap_end || exit 1
if [ -n "$skipped" ]; then echo "skip: MPI part: $skipped"; exit 77; fi
exit 0
