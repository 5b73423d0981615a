#!/usr/bin/env bash
# --threads N and TRUEQ_THREADS for the forward-pass commands (embed,
# classify, compare, compare-decoder, generate): the outputs are the same
# bytes for 1, 2 and 3 threads, through float32 and through the kernels over
# stored codes (int8, 4-bit affine, NF4); the 4-bit kernels' greedy text
# starts as the decoded path's; a bad count is a usage error.
set -u
CLI=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
# JSON without its timings (seq_per_s_*, tokens_per_s_*, seconds_*)
nospeed() { sed -E 's/"([a-z_]*per_s[a-z_]*|seconds[a-z_]*)":[^,}]*,?//g' "$1"; }
same() { [ -s "$1" ] && cmp -s <(nospeed "$1") <(nospeed "$2"); }
unset TRUEQ_THREADS

# an encoder wide enough for several column slabs per product (dim 512, FFN 1024)
E="$T/enc"
"$CLI" synth "$E" --layers 2 --dim 512 --hidden 1024 --heads 8 --vocab 1000 --seed 3 >/dev/null || { echo "not ok - synth"; exit 1; }
texts=("the cat sat on the mat." "a dog ran after the ball in the park, and then it rained" "x")
for keep in "" --keep-int8; do
  for n in 1 2 3; do "$CLI" embed "$E" "${texts[@]}" --json $keep --threads $n > "$T/e$n.json" || echo "embed --threads $n failed"; done
  TRUEQ_THREADS=2 "$CLI" embed "$E" "${texts[@]}" --json $keep > "$T/eenv.json"
  check "embed ${keep:-float32}: --threads 1, 2, 3 and TRUEQ_THREADS=2 give the same bytes" \
    '[ -s "$T/e1.json" ] && cmp -s "$T/e1.json" "$T/e2.json" && cmp -s "$T/e1.json" "$T/e3.json" && cmp -s "$T/e1.json" "$T/eenv.json"'
done
"$CLI" classify "$E" "a premise here" "a hypothesis" --json --threads 1 > "$T/c1.json"
"$CLI" classify "$E" "a premise here" "a hypothesis" --json --threads 3 > "$T/c3.json"
check "classify: --threads 1 and 3 give the same bytes" '[ -s "$T/c1.json" ] && cmp -s "$T/c1.json" "$T/c3.json"'
# float32 attention (kern/attn_f32.h): TRUEQ_ISA=avx2 runs its AVX2 tiles, the
# AVX-512 path's bytes (and the projections' AVX2 kernel the AVX-512 one's);
# head size 64 and 48 (not a multiple of 16)
"$CLI" synth "$T/enc48" --layers 2 --dim 240 --hidden 480 --heads 5 --vocab 1000 --seed 4 >/dev/null
for m in "$E" "$T/enc48"; do
  TRUEQ_ISA=avx512 "$CLI" embed "$m" "${texts[@]}" --json --threads 2 > "$T/i512.json"
  TRUEQ_ISA=avx2 "$CLI" embed "$m" "${texts[@]}" --json --threads 3 > "$T/i2.json"
  check "embed float32 $(basename "$m"): TRUEQ_ISA=avx2 and avx512 give the same bytes" 'same "$T/i512.json" "$T/i2.json"'
done
"$CLI" convert "$E" -o "$T/enc8" >/dev/null 2>&1
printf '%s\n' "${texts[@]}" > "$T/texts.txt"
"$CLI" compare "$E" "$T/enc8" --texts "$T/texts.txt" --json --threads 1 > "$T/k1.json"
"$CLI" compare "$E" "$T/enc8" --texts "$T/texts.txt" --json --threads 2 > "$T/k2.json"
check "compare: --threads 1 and 2 give the same bytes (but for the speeds)" 'same "$T/k1.json" "$T/k2.json"'

"$CLI" embed "$E" "a" --threads 0 > /dev/null 2> "$T/err"; rc=$?
check "--threads 0: usage error naming the range" '[ $rc -eq 1 ] && grep -q -- "--threads: 0 is out of range \[1, 64\]" "$T/err"'
"$CLI" embed "$E" "a" --threads two > /dev/null 2> "$T/err"; rc=$?
check "--threads two: usage error" '[ $rc -eq 1 ] && grep -q "is not an integer" "$T/err"'

# decoders (stories260k): float32 and the kernels over int8, 4-bit affine, NF4
M=${TRUEQ_MODELS:-${TQ_SOURCE_DIR:-.}/../shared/models}/stories260k
if [ -f "$M/stories260K.safetensors" ] && [ -f "$M/tok512.bin" ]; then
  D="$T/dec"; mkdir -p "$D"; cp "$M/stories260K.safetensors" "$M/params.json" "$M/tok512.bin" "$D/" 2>/dev/null
  "$CLI" convert "$M/stories260K.safetensors" -o "$T/dec8" >/dev/null 2>&1
  "$CLI" convert "$M/stories260K.safetensors" -o "$T/deca4" --codec linear-affine --bits 4 --granularity group:32 --pad >/dev/null 2>&1
  "$CLI" convert "$M/stories260K.safetensors" -o "$T/decnf4" --codec nf4 --pad >/dev/null 2>&1
  for m in "$M:" "$T/dec8:--keep-int8" "$T/deca4:--keep-quantized" "$T/decnf4:--keep-quantized"; do
    dir=${m%%:*} keep=${m#*:}
    cfg=(--config "$M/params.json" --tokenizer "$M/tok512.bin")
    for n in 1 2 3; do "$CLI" generate "$dir" "${cfg[@]}" --steps 60 --temperature 0.8 --seed 4 --quiet $keep --threads $n > "$T/g$n.txt" 2>"$T/gerr$n.txt"; done
    check "generate $(basename "$dir") ${keep:-float32}: --threads 1, 2, 3 give the same text" \
      '[ -s "$T/g1.txt" ] && cmp -s "$T/g1.txt" "$T/g2.txt" && cmp -s "$T/g1.txt" "$T/g3.txt"'
    if [ "$keep" = --keep-quantized ]; then   # the 4-bit kernels against decoding the same codes to float
      TRUEQ_ISA=decode "$CLI" generate "$dir" "${cfg[@]}" --steps 60 --quiet $keep > "$T/gd.txt" 2>/dev/null
      "$CLI" generate "$dir" "${cfg[@]}" --steps 60 --quiet $keep > "$T/gk.txt" 2>/dev/null
      check "generate $(basename "$dir"): greedy text through the kernels starts as the decoded path's (first 120 bytes)" \
        '[ $(wc -c < "$T/gd.txt") -gt 120 ] && cmp -s -n 120 "$T/gd.txt" "$T/gk.txt"'
    fi
  done
  "$CLI" compare-decoder "$M/stories260K.safetensors" "$T/dec8" --keep-int8 --config "$M/params.json" --tokenizer "$M/tok512.bin" --json --threads 1 > "$T/d1.json" 2>/dev/null
  "$CLI" compare-decoder "$M/stories260K.safetensors" "$T/dec8" --keep-int8 --config "$M/params.json" --tokenizer "$M/tok512.bin" --json --threads 2 > "$T/d2.json" 2>/dev/null
  check "compare-decoder --keep-int8: --threads 1 and 2 give the same bytes (but for the speeds)" 'same "$T/d1.json" "$T/d2.json"'
else
  echo "# stories260k not found (TRUEQ_MODELS): the decoder cases are not run"
fi
exit $fail
