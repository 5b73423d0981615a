#!/usr/bin/env bash
# `trueq convert --format mlx` end to end (no Python client; cli_mlx_client
# has mlx and mlx_lm): the dry run's size is the file's, the output is the
# same bytes for any thread count, config.json carries the quantization block
# with per-layer overrides, inspect's ledger reconciles to the byte, verify
# and spectrum read the output through the MLX row, generate runs it, and
# the refusals name what is wrong; a failed run leaves nothing behind.
set -u
TQ=${TQ_CLI:-build/trueq}
M=${TRUEQ_MODELS:-/work/shared/models}/stories260k
[ -f "$M/stories260K.safetensors" ] || { echo "SKIP: no stories260k under ${TRUEQ_MODELS:-/work/shared/models}"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/tap.sh"   # ok, bad, check, size, jget, tap_end

"$TQ" convert "$M" --format mlx --bits 3 --granularity group:32 --dry-run --json > "$T/plan.json"; rc=$?
check "dry run exits 0 and writes nothing" '[ $rc -eq 0 ] && [ ! -e $T/o ]'
"$TQ" convert "$M" -o "$T/o" --format mlx --bits 3 --granularity group:32 --json --threads 1 > "$T/run.json"; rc=$?
check "convert --format mlx exits 0" '[ $rc -eq 0 ]'
check "dry-run size equals the written size" '[ "$(jget $T/plan.json "d[\"output_bytes\"]")" = "$(size $T/o/model.safetensors)" ]'
"$TQ" convert "$M" -o "$T/o2" --format mlx --bits 3 --granularity group:32 --threads 2 > /dev/null
check "same bytes with 1 and 2 threads" 'cmp -s $T/o/model.safetensors $T/o2/model.safetensors && cmp -s $T/o/config.json $T/o2/config.json'
check "config.json: quantization {group_size 32, bits 3, mode affine} == quantization_config; w2 (172 inputs) kept by override" \
  '[ "$(jget $T/o/config.json "(d[\"quantization\"]==d[\"quantization_config\"], d[\"quantization\"][\"group_size\"], d[\"quantization\"][\"bits\"], d[\"quantization\"][\"mode\"], sorted(k for k,v in d[\"quantization\"].items() if v is False))")" = "(True, 32, 3, '"'"'affine'"'"', ['"'"'layers.0.feed_forward.w2'"'"', '"'"'layers.1.feed_forward.w2'"'"', '"'"'layers.2.feed_forward.w2'"'"', '"'"'layers.3.feed_forward.w2'"'"', '"'"'layers.4.feed_forward.w2'"'"'])" ]'
check "tokenizer and params copied" '[ -f $T/o/tok512.bin ] && [ -f $T/o/params.json ]'
check "header metadata is mlx's {\"format\": \"mlx\"}, no trueq descriptors" \
  '[ "$($PY -c "import json,struct; f=open(\"$T/o/model.safetensors\",\"rb\"); n=struct.unpack(\"<Q\",f.read(8))[0]; h=json.loads(f.read(n)); print(h[\"__metadata__\"])")" = "{'"'"'format'"'"': '"'"'mlx'"'"'}" ]'
check "names: X.weight U32, X.scales and X.biases F32 (the source dtype); the embedding quantized" \
  '[ "$($PY -c "import json,struct; f=open(\"$T/o/model.safetensors\",\"rb\"); n=struct.unpack(\"<Q\",f.read(8))[0]; h=json.loads(f.read(n)); print(h[\"tok_embeddings.weight\"][\"dtype\"], h[\"tok_embeddings.scales\"][\"dtype\"], h[\"tok_embeddings.biases\"][\"shape\"], h[\"layers.0.feed_forward.w2.weight\"][\"dtype\"])")" = "U32 F32 [512, 2] F32" ]'

"$TQ" inspect "$T/o" --json > "$T/ins.json"; rc=$?
check "inspect: 31 tensors mlx/3/32 at 3 + 64/32 = 5 bits per weight" \
  '[ $rc -eq 0 ] && [ "$(jget $T/ins.json "sorted(set((r[\"codec\"], r[\"bits\"], r[\"group\"], r[\"bits_per_weight\"]) for r in d[\"tensors\"] if r[\"quantized\"])) == [(\"mlx\", 3, 32, 5)] and d[\"totals\"][\"quantized\"] == 31")" = True ]'
check "ledger totals reconcile with the file size" \
  '[ "$(jget $T/ins.json "(lambda t: t[\"header_bytes\"]+t[\"padding_bytes\"]+t[\"payload_bytes\"]+t[\"scale_bytes\"])(d[\"totals\"])")" = "$(size $T/o/model.safetensors)" ]'
check "report's output bytes equal stat, its quantized count the ledger's" \
  '[ "$(jget $T/run.json "d[\"output_bytes\"]")" = "$(size $T/o/model.safetensors)" ]'
"$TQ" verify "$M" "$T/o" --json > "$T/ver.json"; rc=$?
check "verify against the original reads every quantized tensor (rel error of 3-bit codes in (0, 0.5))" \
  '[ $rc -le 1 ] && [ "$(jget $T/ver.json "0 < d[\"overall_quantized\"][\"rel_error\"] < 0.5 and d[\"counts\"][\"compared\"] == 47")" = True ]'
"$TQ" spectrum "$T/o" --json > "$T/sp.json" 2>/dev/null; rc=$?
"$TQ" spectrum "$M" --json > "$T/sp0.json" 2>/dev/null
check "spectrum analyses the decoded MLX matrices: as many layers as the original's, other alphas" \
  '[ $rc -eq 0 ] && [ "$(jget $T/sp.json "d[\"runs\"][0][\"summary\"][\"layers\"]")" = "$(jget $T/sp0.json "d[\"runs\"][0][\"summary\"][\"layers\"]")" ] && [ "$(jget $T/sp.json "d[\"runs\"][0][\"summary\"][\"alpha\"]")" != "$(jget $T/sp0.json "d[\"runs\"][0][\"summary\"][\"alpha\"]")" ]'
echo "1" > "$T/ids"
check "generate runs the MLX output (ids out)" '[ "$("$TQ" generate "$T/o" --ids $T/ids -n 8 -q | wc -w)" -ge 2 ]'

"$TQ" convert "$M" -o "$T/x" --format mlx --codec linear-sym 2> "$T/e1"; rc=$?
check "--codec with --format mlx: usage error naming it" '[ $rc -ne 0 ] && grep -q -- "--codec does not apply to --format mlx" $T/e1 && [ ! -e $T/x ]'
"$TQ" convert "$M" -o "$T/x" --format mlx --granularity group:16 2> "$T/e2"; rc=$?
check "group 16: refused, MLX groups named" '[ $rc -ne 0 ] && grep -q "MLX groups are 32, 64 or 128" $T/e2 && [ ! -e $T/x ]'
"$TQ" convert "$M" -o "$T/x" --format mlx --granularity channel 2> "$T/e3"; rc=$?
check "channel granularity: refused" '[ $rc -ne 0 ] && grep -q "MLX groups" $T/e3'
"$TQ" convert "$M" -o "$T/x" --format mlx --include "*norm*" 2> "$T/e4"; rc=$?
check "--include with --format mlx: usage error" '[ $rc -ne 0 ] && grep -q -- "--include does not apply" $T/e4'
"$TQ" convert "$M" -o "$T/x" --format mlx --exclude "nothing*" 2> "$T/e5"; rc=$?
check "--exclude matching nothing: refused by name" '[ $rc -ne 0 ] && grep -q "exclude nothing\* matches no tensor" $T/e5'
"$TQ" convert "$M" -o "$T/ex" --format mlx --exclude "layers.0.*" > /dev/null; rc=$?
check "--exclude keeps a module wide, with its override" \
  '[ $rc -eq 0 ] && [ "$(jget $T/ex/config.json "d[\"quantization\"].get(\"layers.0.attention.wq\")")" = False ]'
"$TQ" convert "$T/o" -o "$T/x" --format mlx 2> "$T/e6"; rc=$?
check "an MLX file as input: already quantized, named" '[ $rc -ne 0 ] && grep -q "is already quantized (mlx/3/group:32)" $T/e6'
mkdir -p "$T/busy/config.json"
"$TQ" convert "$M" -o "$T/busy" --format mlx 2> "$T/e7"; rc=$?
check "a directory where config.json goes: refused, nothing written" \
  '[ $rc -ne 0 ] && grep -q "is a directory" $T/e7 && [ ! -e $T/busy/model.safetensors ] && [ "$(ls -A $T/busy)" = config.json ]'

tap_end
