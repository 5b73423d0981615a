#!/usr/bin/env bash
# Benchmarks of convert, as ratios measured in one run on one machine:
#   1. quantize throughput vs memcpy            (bench_quantize)
#   2. convert wall time vs cp of the same input (page cache warm for both; best of N)
#   3. peak RSS of convert vs the largest tensor (above the program's baseline RSS)
# usage: bench/run.sh [BUILD_DIR] [REPS]
set -euo pipefail
build=${1:-build}; reps=${2:-5}
tq=$build/trueq
work=${TMPDIR:-/tmp}/trueq-bench; mkdir -p "$work"
model=$work/distilbert
[ -f $model/model.safetensors ] || "$tq" synth "$model" 2>/dev/null

echo "== 1. quantize throughput (float32 in) next to memcpy"
"$build/bench_quantize" 256 5

best() {   # best wall time of a command over $reps runs, in seconds
  local b=999999 t0 t1
  for _ in $(seq "$reps"); do
    rm -rf "$work/out" "$work/cp.safetensors"
    t0=$(date +%s.%N); eval "$1" > /dev/null 2>&1; t1=$(date +%s.%N)
    b=$(echo "$t1 - $t0" | bc -l | awk -v b="$b" '{print ($1 < b) ? $1 : b}')
  done
  echo "$b"
}
cat "$model/model.safetensors" > /dev/null     # warm the page cache
in_bytes=$(stat -c %s "$model/model.safetensors")
echo
echo "== 2. convert wall time next to cp ($(echo "$in_bytes / 1000000" | bc) MB DistilBERT-base input, best of $reps)"
t_cp=$(best "cp $model/model.safetensors $work/cp.safetensors")
printf "%-44s %8.3f s\n" "cp model.safetensors" "$t_cp"
for args in "--bits 8" "--bits 8 --quantize-embeddings" "--bits 4 --granularity group:64" "--bits 8 --format npz"; do
  t=$(best "$tq convert $model -o $work/out $args")
  printf "%-44s %8.3f s   %.2fx cp\n" "trueq convert $args" "$t" "$(echo "$t / $t_cp" | bc -l)"
done

echo
echo "== 3. peak RSS of convert next to the largest tensor"
largest=$("$tq" inspect "$model" --json | /usr/bin/python3 -c "import json,sys; print(max(t['payload_bytes'] for t in json.load(sys.stdin)['tensors']))")
base=$( { /usr/bin/time -f %M "$tq" --version > /dev/null; } 2>&1 )
for args in "--bits 8" "--bits 8 --quantize-embeddings" "--bits 4 --granularity group:64"; do
  rm -rf "$work/out"
  peak=$( { /usr/bin/time -f %M "$tq" convert "$model" -o "$work/out" $args > /dev/null; } 2>&1 | tail -1)
  printf "%-44s peak RSS %7.1f MB, baseline %5.1f MB, largest tensor %6.1f MB: (peak - baseline) / largest = %.2f\n" \
    "trueq convert $args" "$(echo "$peak / 1000" | bc -l)" "$(echo "$base / 1000" | bc -l)" "$(echo "$largest / 1000000" | bc -l)" \
    "$(echo "($peak - $base) * 1024 / $largest" | bc -l)"
done
rm -rf "$work/out" "$work/cp.safetensors"

echo
echo "== 4. encoder forward pass next to PyTorch (bench/encoder_vs_torch.py; needs tests/py/torch_venv.sh)"
if py=$(bash "$(dirname "$0")/../tests/py/torch_venv.sh" 2>/dev/null | head -1) && [ -n "$py" ]; then
  "$py" "$(dirname "$0")/encoder_vs_torch.py" --build "$build" --reps "$reps" --threads 2
else
  echo "skipped: no transformers reference environment"
fi
