#!/usr/bin/env bash
# bench/phi35_memory.sh — does a Phi-3.5-mini-sized model fit? (issue: bounded memory)
# Synthesises the Phi-3.5-mini-shaped checkpoint (3.8B parameters, BF16, 7.6 GB,
# `trueq synth --arch phi3 --shape phi3.5-mini`), then measures wall time and peak
# RSS (/usr/bin/time -v, "Maximum resident set size") of:
#   convert BF16 -> 4-bit affine group:64, generate 8 tokens from the BF16 original
#   and from the 4-bit copy (its codes kept as stored: the default; fused qkv_proj /
#   gate_up_proj as row views), `spectrum` of both (SPECTRUM=0 skips them), and
#   spectrum --bits 8,4,2 of the original (optional: SPECTRUM_BITS=1, hours on 2
#   cores); each next to the stored size of the weights it reads.
# Usage: bench/phi35_memory.sh [BUILD_DIR] [WORK_DIR]   (WORK_DIR needs ~12 GB free;
# it is removed at the end unless KEEP=1; a WORK_DIR/bf16 or WORK_DIR/q4 already there
# is reused). Prints a Markdown table for docs/bench/memory.md. The bar (issue 12): peak
# RSS at most 1.25x the stored weights.
set -euo pipefail
B=${1:-build}; W=${2:-$(mktemp -d /var/tmp/tq-phi35.XXXXXX)}
TQ="$B/trueq"; [ -x "$TQ" ] || { echo "no $TQ: build first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 1; }
mkdir -p "$W"; [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
rows=()
# run NAME STORED_BYTES CMD...: time and peak RSS of CMD, one table row
run() {
    local name=$1 stored=$2; shift 2
    local t0 t1; t0=$(date +%s.%N)
    /usr/bin/time -v "$@" > "$W/out.txt" 2> "$W/time.txt" || { echo "$name failed:" >&2; tail -5 "$W/time.txt" >&2; exit 1; }
    t1=$(date +%s.%N)
    local rss_kb; rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$W/time.txt")
    rows+=("$(python3 -c "s=$stored; r=$rss_kb*1024; print('| %s | %.2f GB | %.2f GB | %.2fx | %.1f s |' % ('$name', s/1e9, r/1e9, r/s, $t1-$t0))")")
    echo "${rows[-1]}" >&2
}
stored() { python3 -c "import os,sys,glob; print(sum(os.path.getsize(f) for f in glob.glob(sys.argv[1]+'/*.safetensors')))" "$1"; }

M="$W/bf16"; Q="$W/q4"
[ -f "$M/config.json" ] || "$TQ" synth "$M" --arch phi3 --shape phi3.5-mini --dtype BF16 --quiet
SM=$(stored "$M")
printf '1 450 3290 1010 263 1023' > "$W/ids.txt"
[ -f "$Q/config.json" ] ||
    run "convert BF16 -> 4-bit affine g64" "$SM" "$TQ" convert "$M" -o "$Q" --bits 4 --scheme affine --granularity group:64
SQ=$(stored "$Q")
run "generate 8 tokens, BF16 original" "$SM" "$TQ" generate "$M" --ids "$W/ids.txt" -n 8 --quiet
run "generate 8 tokens, 4-bit copy (codes kept)" "$SQ" "$TQ" generate "$Q" --ids "$W/ids.txt" -n 8 --quiet
if [ "${SPECTRUM:-1}" = 1 ]; then
    run "spectrum, BF16 original" "$SM" "$TQ" spectrum "$M" --csv "$W/spectrum.csv"
    run "spectrum, 4-bit copy" "$SQ" "$TQ" spectrum "$Q" --csv "$W/spectrum-q4.csv"
fi
if [ "${SPECTRUM_BITS:-0}" = 1 ]; then
    run "spectrum --bits 8,4,2, BF16 original" "$SM" "$TQ" spectrum "$M" --bits 8,4,2 --csv "$W/spectrum-bits.csv"
fi
echo
echo "| step | stored weights | peak RSS | RSS / stored | wall |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
