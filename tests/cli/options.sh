#!/usr/bin/env bash
# The table-driven command line (tools/cli.c): every kind of option value is
# range-checked and refused in one wording that names the command and the
# option; unknown options and wrong argument counts name the command (never
# the whole usage text); --x=V equals --x V; "--" ends the options; --help is
# generated from the tables and lists every option; the one number parser
# rejects "1e3" for integers, "-1" for unsigned values, junk and overflow.
# A value that parses gets past the parser: the run then fails on the missing
# model with exit 2 (not 1), which is how acceptance is told apart.
set -u
CLI=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
NO=$T/no-such-model

# usage_err NAME WANT ARGS...: exit 1 and stderr is exactly WANT
usage_err() {
  local name=$1 want=$2; shift 2
  "$CLI" "$@" > "$T/out" 2> "$T/err"; local rc=$?
  check "$name" '[ $rc -eq 1 ] && [ "$(cat "$T/err")" = "$want" ] && [ ! -s "$T/out" ]'
  [ $rc -eq 1 ] && [ "$(cat "$T/err")" = "$want" ] || { echo "# rc $rc, stderr:"; sed 's/^/#   /' "$T/err"; }
}
# accepted NAME ARGS...: the parser took every value (exit 2 on the missing model, naming it)
accepted() {
  local name=$1; shift
  "$CLI" "$@" > "$T/out" 2> "$T/err"; local rc=$?
  check "$name" '[ $rc -eq 2 ] && grep -q "no-such-model" "$T/err"'
}

# --- each kind of value, out of range or not a value -------------------------
usage_err "int out of range" \
  "trueq synth: --layers: 0 is out of range [1, 1000000] (see trueq synth --help)" synth "$T/s" --layers 0
usage_err "int overflow is out of range, not wrapped" \
  "trueq synth: --dim: 99999999999999999999 is out of range [1, 1000000] (see trueq synth --help)" \
  synth "$T/s" --dim 99999999999999999999
usage_err "int junk" "trueq synth: --heads: \"12abc\" is not an integer (see trueq synth --help)" synth "$T/s" --heads 12abc
usage_err "an exponent is not an integer" \
  "trueq generate: --steps: \"1e3\" is not an integer (see trueq generate --help)" generate "$NO" --steps 1e3
usage_err "an empty value is not an integer" "trueq synth: --vocab: \"\" is not an integer (see trueq synth --help)" \
  synth "$T/s" --vocab ""
usage_err "leading space is junk" "trueq synth: --vocab: \" 5\" is not an integer (see trueq synth --help)" \
  synth "$T/s" --vocab " 5"
usage_err "-1 for an unsigned value is out of range" \
  "trueq generate: --seed: -1 is out of range [0, 18446744073709551615] (see trueq generate --help)" generate "$NO" --seed -1
usage_err "unsigned overflow" \
  "trueq synth: --seed: 18446744073709551616 is out of range [0, 18446744073709551615] (see trueq synth --help)" \
  synth "$T/s" --seed 18446744073709551616
usage_err "float out of range" "trueq compare: --min-cos: 2 is out of range [-1, 1] (see trueq compare --help)" \
  compare "$NO" "$NO" --min-cos 2
usage_err "float below an open-ended range" \
  "trueq verify: --max-rel-error: -0.5 is out of range [0, inf) (see trueq verify --help)" verify "$NO" "$NO" --max-rel-error -0.5
usage_err "float junk" "trueq compare: --max-mse: \"1e3x\" is not a number (see trueq compare --help)" \
  compare "$NO" "$NO" --max-mse 1e3x
usage_err "nan is not a number" "trueq generate: --temperature: \"nan\" is not a number (see trueq generate --help)" \
  generate "$NO" --temperature nan
usage_err "hex is not a number" "trueq generate: --top-p: \"0x1p-1\" is not a number (see trueq generate --help)" \
  generate "$NO" --top-p 0x1p-1
usage_err "float overflow is out of range" \
  "trueq verify: --min-snr: 1e999 is out of range [-inf, inf) (see trueq verify --help)" verify "$NO" "$NO" --min-snr 1e999
usage_err "size out of range" \
  "trueq convert: --target-size: 0MB is out of range [1, 1000000000000000000] bytes (see trueq convert --help)" \
  convert "$NO" --dry-run --target-size 0MB
usage_err "size junk" "trueq convert: --target-size: \"12 parsecs\" is not a size (e.g. 125MB) (see trueq convert --help)" \
  convert "$NO" --dry-run --target-size "12 parsecs"
usage_err "a negative size" "trueq convert: --target-size: \"-1\" is not a size (e.g. 125MB) (see trueq convert --help)" \
  convert "$NO" --dry-run --target-size -1
usage_err "choice" "trueq convert: --bits: \"9\" is not one of 8, 6, 5, 4, 3, 2 (see trueq convert --help)" convert "$NO" --dry-run --bits 9
usage_err "choice (spectrum --svd)" "trueq spectrum: --svd: \"lapack\" is not one of auto, gesdd (see trueq spectrum --help)" \
  spectrum "$NO" --svd lapack
usage_err "granularity name" \
  "trueq convert: --granularity: \"block\" is not one of tensor, channel, group:N (see trueq convert --help)" \
  convert "$NO" --dry-run --granularity block
usage_err "granularity group size out of range" \
  "trueq spectrum: --granularity: the group size of group:0 is out of range [1, 1099511627776] (see trueq spectrum --help)" \
  spectrum "$NO" --granularity group:0
usage_err "codec" "trueq convert: --codec: unknown codec \"int5\" (trueq codecs lists them) (see trueq convert --help)" \
  convert "$NO" --dry-run --codec int5
usage_err "a spectrum bit width beyond 16" \
  "trueq spectrum: --bits: bit width \"17\" is not an integer in [1, 16] (see trueq spectrum --help)" spectrum "$NO" --bits 8,17

# --- values that are numbers where they should be -----------------------------
accepted "1e3 is a float" compare "$NO" "$NO" --max-mse 1e3
accepted "-0.5 is a float in range" compare "$NO" "$NO" --min-cos -0.5
accepted "a size with a unit" convert "$NO" --dry-run --target-size 1.5GiB
accepted "a big unsigned seed" generate "$NO" --seed 18446744073709551615
accepted "group:N and row" convert "$NO" --dry-run --granularity group:32 --scheme affine
accepted "the int range is inclusive" generate "$NO" --steps 16777216 --top-p 1 --temperature 100

# --- unknown options, counts, value forms --------------------------------------
for c in codecs selftest verify convert inspect synth embed classify compare generate spectrum compare-decoder; do
  usage_err "unknown option names the command ($c)" "trueq $c: unknown option --foo (see trueq $c --help)" $c --foo
done
usage_err "a missing positional" "trueq verify: expected ORIG QUANT, got 1 argument (see trueq verify --help)" verify "$NO"
usage_err "an extra positional" "trueq inspect: expected PATH, got 2 arguments (see trueq inspect --help)" inspect a b
usage_err "no positional for a command that takes none" \
  "trueq selftest: unexpected argument \"x\" (see trueq selftest --help)" selftest x
usage_err "a flag takes no value" "trueq inspect: --strict takes no value (see trueq inspect --help)" inspect "$NO" --strict=yes
usage_err "a missing value" "trueq generate: --steps needs a value (see trueq generate --help)" generate "$NO" --steps
usage_err "a short option's missing value" "trueq convert: -o needs a value (see trueq convert --help)" convert "$NO" -o

"$CLI" synth "$T/a" --layers 1 --dim 16 --hidden 32 --heads 2 --vocab 600 --seed 5 2>/dev/null
"$CLI" synth "$T/b" --layers=1 --dim=16 --hidden=32 --heads=2 --vocab=600 --seed=5 2>/dev/null
check "--x=V gives the same bytes as --x V" 'cmp -s "$T/a/model.safetensors" "$T/b/model.safetensors"'
"$CLI" synth "$T/c" --layers 1 --dim 16 --hidden 32 --heads 2 --vocab 600 --seed 6 2>/dev/null
check "... and the value is used (another seed, other bytes)" '! cmp -s "$T/a/model.safetensors" "$T/c/model.safetensors"'
(cd "$T" && "$CLI" synth --layers 1 --dim 16 --hidden 32 --heads 2 --vocab 600 -- -dash 2>/dev/null)
check "-- ends the options: -dash is the output directory" '[ -f "$T/-dash/model.safetensors" ]'
"$CLI" inspect -- --json > "$T/out" 2> "$T/err"; rc=$?
check "after --, --json is a path" '[ $rc -eq 2 ] && grep -q "\-\-json" "$T/err" && [ ! -s "$T/out" ]'
"$CLI" inspect "$T/a" --json --quiet > "$T/j1" && "$CLI" inspect --quiet "$T/a" --json > "$T/j2"
check "options anywhere: same output" '[ -s "$T/j1" ] && cmp -s "$T/j1" "$T/j2"'

# --- --help comes from the tables ----------------------------------------------
want_opts() {  # command, options it must list
  local c=$1; shift
  "$CLI" $c --help > "$T/h" 2>&1; local rc=$? missing=""
  for o in "$@" --help; do grep -qE -- "^  (-[a-z], )?$o( |$)" "$T/h" || missing="$missing $o"; done
  check "$c --help exits 0 and lists every option${missing:+ (missing:$missing)}" '[ $rc -eq 0 ] && [ -z "$missing" ] && head -1 "$T/h" | grep -q "^usage: trueq $c "'
  "$CLI" help $c > "$T/h2" 2>&1
  check "trueq help $c is trueq $c --help" 'cmp -s "$T/h" "$T/h2"'
}
want_opts convert --bits --scheme --codec --alpha --granularity --pad --simulate --allow-nonfinite --quantize-embeddings \
  --include --exclude --output --format --target-size --target-bpw --menu --recipe --write-recipe --dry-run --json
want_opts batch --csv --json
want_opts inspect --json --strict --quiet
want_opts codecs --json --study --csv --group --only
want_opts synth --seed --layers --dim --hidden --heads --vocab
want_opts verify --json --csv --max-rel-error --min-snr --quiet
want_opts selftest --json --failures
want_opts embed --texts --ids --pooling --normalize --no-normalize --batch --keep-int8 --json --threads
want_opts classify --ids --keep-int8 --json --threads
want_opts compare --texts --ids --batch --json --min-cos --max-mse --min-agree --keep-int8 --threads
want_opts compare-decoder --text --prompt --ids --json --max-kl --min-agree --config --tokenizer --keep-int8 --decode-weights --threads
want_opts generate --prompt --steps --temperature --top-p --seed --config --tokenizer --keep-int8 --keep-quantized --decode-weights --quiet --verbose --threads
want_opts spectrum --csv --json --ww --threads --svd --bits --codec --granularity --svg --layer
"$CLI" convert --help > "$T/h"
check "help shows an option's range and choices" 'grep -q -- "--bits 8|6|5|4|3|2" "$T/h" && "$CLI" synth --help | grep -q -- "--layers N .*\[1, 1000000\]"'
"$CLI" --help > "$T/h"
check "trueq --help lists every command of the table" '[ $(grep -cE "^  (convert|inspect|codecs|synth|verify|selftest|embed|classify|compare|compare-decoder|generate|spectrum|tokenize|batch) " "$T/h") -eq 14 ]'
"$CLI" help nosuch > /dev/null 2> "$T/err"; rc=$?
check "trueq help of an unknown command: usage error" '[ $rc -eq 1 ] && grep -q "unknown command \"nosuch\"" "$T/err"'
exit $fail
