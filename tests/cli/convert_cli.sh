#!/usr/bin/env bash
# End-to-end checks of `trueq synth | convert | inspect` through the CLI:
# exit codes, JSON reports, sizes against stat, no partial outputs.
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/tap.sh"   # ok, bad, check, size, jget, tap_end

"$TQ" synth "$T/m" --layers 2 --dim 64 --hidden 128 --heads 4 --vocab 1000 2>/dev/null
check "synth writes model, config, vocab" '[ -f $T/m/model.safetensors ] && [ -f $T/m/config.json ] && [ -f $T/m/vocab.txt ]'
OPENBLAS_NUM_THREADS=1 "$TQ" synth "$T/m2" --layers 2 --dim 64 --hidden 128 --heads 4 --vocab 1000 2>/dev/null
check "synth is deterministic (also with another BLAS thread count)" 'cmp -s $T/m/model.safetensors $T/m2/model.safetensors'

"$TQ" convert "$T/m" --bits 4 --granularity group:32 --dry-run --json > "$T/plan.json"; rc=$?
check "dry run exits 0 and writes nothing" '[ $rc -eq 0 ] && [ ! -e $T/q4 ]'
"$TQ" convert "$T/m" -o "$T/q4" --bits 4 --granularity group:32 --json > "$T/run.json"; rc=$?
check "convert exits 0" '[ $rc -eq 0 ]'
check "dry-run size equals the written size" '[ "$(jget $T/plan.json "d[\"output_bytes\"]")" = "$(size $T/q4/model.safetensors)" ]'
check "report output_bytes equals stat" '[ "$(jget $T/run.json "d[\"output_bytes\"]")" = "$(size $T/q4/model.safetensors)" ]'
check "report input_bytes equals stat of the input" '[ "$(jget $T/run.json "d[\"input_bytes\"]")" = "$(size $T/m/model.safetensors)" ]'
check "4-bit codes are stored as U8" '[ "$(jget $T/run.json "d[\"bytes_by_dtype\"].get(\"U8\",0) > 0 and \"I8\" not in d[\"bytes_by_dtype\"]")" = True ]'
check "config and metadata copied/written" '[ -f $T/q4/config.json ] && [ -f $T/q4/vocab.txt ] && [ -f $T/q4/conversion_metadata.json ]'
check "conversion_metadata.json records rules and the measured size" \
  '[ "$(jget $T/q4/conversion_metadata.json "d[\"totals\"][\"output_file_bytes\"] == $(size $T/q4/model.safetensors) and all(t[\"rule\"] for t in d[\"tensors\"])")" = True ]'

"$TQ" inspect "$T/q4" --json > "$T/ins.json"; rc=$?
check "inspect exits 0" '[ $rc -eq 0 ]'
check "ledger totals reconcile with the file size" \
  '[ "$(jget $T/ins.json "(lambda t: t[\"header_bytes\"]+t[\"padding_bytes\"]+t[\"payload_bytes\"]+t[\"scale_bytes\"])(d[\"totals\"])")" = "$(size $T/q4/model.safetensors)" ]'
check "ledger rows sum to the totals" \
  '[ "$(jget $T/ins.json "sum(r[\"payload_bytes\"]+r[\"scale_bytes\"] for r in d[\"tensors\"]) == d[\"totals\"][\"payload_bytes\"]+d[\"totals\"][\"scale_bytes\"]")" = True ]'
check "kept rows say why they stayed wide" \
  '[ "$(jget $T/ins.json "all(r[\"note\"] for r in d[\"tensors\"] if not r[\"quantized\"]) and any(\"embedding\" in r[\"note\"] for r in d[\"tensors\"])")" = True ]'
check "quantized rows carry codec, bits and original dtype" \
  '[ "$(jget $T/ins.json "all(r[\"codec\"]==\"linear-sym\" and r[\"bits\"]==4 and r[\"original_dtype\"]==\"F32\" for r in d[\"tensors\"] if r[\"quantized\"])")" = True ]'

# exit codes
"$TQ" convert "$T/m" -o "$T/big" --target-size 10kB > /dev/null 2>&1; rc=$?
check "missed --target-size exits 3 and writes nothing" '[ $rc -eq 3 ] && [ ! -e $T/big ]'
"$TQ" convert "$T/m" -o "$T/x" --bits 7 > /dev/null 2>&1; rc=$?
check "bad --bits is a usage error (1)" '[ $rc -eq 1 ] && [ ! -e $T/x ]'
"$TQ" convert "$T/m" -o "$T/x" --include 'nothing.*' > /dev/null 2> "$T/err"; rc=$?
check "a glob matching nothing exits 2 and names the glob" '[ $rc -eq 2 ] && grep -q "nothing\.\*" $T/err && [ ! -e $T/x ]'
"$TQ" convert "$T/m" -o "$T/x" --granularity group:48 > /dev/null 2> "$T/err"; rc=$?
check "a group size that does not divide names tensor and shape" '[ $rc -eq 2 ] && grep -q "of shape \[" $T/err && [ ! -e $T/x ]'
printf 'garbage' > "$T/bad.safetensors"
"$TQ" inspect "$T/bad.safetensors" > /dev/null 2> "$T/err"; rc=$?
check "a corrupt file exits 2 naming it" '[ $rc -eq 2 ] && grep -q "bad.safetensors" $T/err'
for c in trunc hdr json; do
  case $c in
    trunc) head -c 100 "$T/m/model.safetensors" > "$T/c.safetensors";;
    hdr)   printf '\xff\xff\xff\xff\x00\x00\x00\x00{}' > "$T/c.safetensors";;
    json)  printf '\x04\x00\x00\x00\x00\x00\x00\x00{"a"' > "$T/c.safetensors";;
  esac
  "$TQ" convert "$T/c.safetensors" -o "$T/cout" > /dev/null 2> "$T/err"; rc=$?
  check "corrupt input ($c): exit 2, error names the file, no output left" '[ $rc -eq 2 ] && grep -q "c.safetensors" $T/err && [ ! -e $T/cout ]'
done
"$TQ" convert "$T/m" -o "$T/big2" --target-size 10kB > "$T/tgt.txt" 2>/dev/null
check "a missed target names the largest kept tensor" 'grep -q "largest: distilbert.embeddings.word_embeddings.weight kept as F32" $T/tgt.txt'
"$TQ" frobnicate > /dev/null 2>&1; rc=$?
check "an unknown command is a usage error" '[ $rc -eq 1 ]'
"$TQ" convert "$T/m" -o "$T/m" > /dev/null 2> "$T/err"; rc=$?
check "writing into the input directory is refused; input intact" '[ $rc -eq 2 ] && cmp -s $T/m/model.safetensors $T/m2/model.safetensors'

mkdir -p "$T/lx" "$T/ly"; cp "$T/m2/model.safetensors" "$T/ly/"; ln -s "$T/ly/model.safetensors" "$T/lx/in.safetensors"
"$TQ" convert "$T/lx/in.safetensors" -o "$T/ly" > /dev/null 2> "$T/err"; rc=$?
check "an input reached through a symlink is never overwritten" '[ $rc -eq 2 ] && cmp -s $T/ly/model.safetensors $T/m2/model.safetensors'
mkdir -p "$T/busy"; cp "$T/m2/model.safetensors" "$T/m2/config.json" "$T/busy/"; echo secret > "$T/busy/credentials.json"; echo data > "$T/busy/dataset.txt"
"$TQ" convert "$T/busy/model.safetensors" -o "$T/busyout" > /dev/null
check "only config/tokenizer files are copied beside the weights" '[ -f $T/busyout/config.json ] && [ ! -e $T/busyout/credentials.json ] && [ ! -e $T/busyout/dataset.txt ]'

# fake quantization detected; simulated is not fake
"$TQ" convert "$T/m" -o "$T/sim" --simulate > /dev/null
"$TQ" inspect "$T/sim" --strict > "$T/sim.txt"; rc=$?
check "simulated output is reported as simulated, not fake (strict exit 0)" '[ $rc -eq 0 ] && grep -q "simulated quantization" $T/sim.txt'
$PY - "$T/sim/model.safetensors" "$T/fake.safetensors" <<'PYEOF'
import json, struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = open(src, 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8+n])
h['__metadata__'] = {'format': 'pt'}          # drop the simulated marks: a "fake" int8 file
hb = json.dumps(h, separators=(',', ':')).encode()
hb += b' ' * ((8 - len(hb) % 8) % 8)
open(dst, 'wb').write(struct.pack('<Q', len(hb)) + hb + b[8+n:])
PYEOF
"$TQ" inspect "$T/fake.safetensors" --strict > "$T/fake.txt"; rc=$?
check "quantized values stored as floats are flagged (strict exit 3)" '[ $rc -eq 3 ] && grep -q "FAKE QUANT" $T/fake.txt && grep -q "WARNING" $T/fake.txt'
# convert says so too: requantizing values that already sit on a grid adds error
nfake=$("$TQ" inspect "$T/fake.safetensors" --json 2>/dev/null | $PY -c "import json,sys; print(json.load(sys.stdin)[\"totals\"][\"fake_quant\"])")
"$TQ" convert "$T/fake.safetensors" -o "$T/refq" > "$T/refq.txt"
check "convert warns that its input already looks quantized, with inspect's count" \
  'grep -q "WARNING     the input already looks quantized: $nfake tensors" $T/refq.txt'
"$TQ" convert "$T/fake.safetensors" -o "$T/refq2" --json > "$T/refq.json"
"$TQ" convert "$T/m" -o "$T/refq3" --json > "$T/genuine.json"
check "--json: input_looks_quantized true with the count for it, false for genuine weights" \
  '$PY -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(not (a[\"input_looks_quantized\"] is True and a[\"input_fake_quant_tensors\"]==$nfake and b[\"input_looks_quantized\"] is False and b[\"input_fake_quant_tensors\"]==0))" $T/refq.json $T/genuine.json'

tap_end
