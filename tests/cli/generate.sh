#!/usr/bin/env bash
# trueq generate on stories260k: the greedy text from BOS must equal, byte for
# byte, the sample published in stories260K.md (as llama2.c's test_all.py
# checks its own binary); sampling is reproducible with a seed; bad input is
# refused with the documented exit codes.
set -u
CLI=${TQ_CLI:-build/trueq}
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/stories.sh"   # sets M, or skips
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }

# the published greedy sample: lines after the "-t 0.0" command up to the fence
awk '/-t 0.0$/ {on=1; next} on && /^```/ {exit} on {print}' "$M/stories260K.md" > "$T/want.txt"
check "the sample was found in stories260K.md" '[ $(wc -c < "$T/want.txt") -gt 500 ]'
"$CLI" generate "$M" --quiet > "$T/got.txt" 2> "$T/err.txt"
check "greedy generate exits 0" '[ $? -eq 0 ]'
check "greedy text from BOS equals the published sample byte for byte" 'cmp -s "$T/got.txt" "$T/want.txt"'
cmp "$T/got.txt" "$T/want.txt" >/dev/null || diff "$T/got.txt" "$T/want.txt" | head -5

"$CLI" generate "$M/stories260K.safetensors" --steps 0 --prompt "Once upon a time" > "$T/p.txt" 2> "$T/perr.txt"
check "--steps 0 echoes the prompt only" '[ "$(cat "$T/p.txt")" = "Once upon a time" ]'
check "the speed report goes to stderr" 'grep -q "tokens/s" "$T/perr.txt"'
"$CLI" generate "$M" --steps 20 --prompt "Once upon a time" --quiet > "$T/p20.txt"
check "a prompt continues the greedy story" 'grep -q "^Once upon a time, there was a little girl" "$T/p20.txt"'

"$CLI" generate "$M" --steps 60 --temperature 0.9 --seed 5 --quiet > "$T/s1.txt"
"$CLI" generate "$M" --steps 60 --temperature 0.9 --seed 5 --quiet > "$T/s2.txt"
"$CLI" generate "$M" --steps 60 --temperature 0.9 --seed 6 --quiet > "$T/s3.txt"
check "same seed, same sample" 'cmp -s "$T/s1.txt" "$T/s2.txt"'
check "another seed, another sample" '! cmp -s "$T/s1.txt" "$T/s3.txt"'
check "a sample is not the greedy text" '! cmp -s "$T/s1.txt" "$T/want.txt"'
"$CLI" generate "$M" --steps 60 --temperature 0.9 --top-p 0.5 --seed 5 --quiet > "$T/s4.txt"
check "top-p sampling runs and is reproducible" '"$CLI" generate "$M" --steps 60 --temperature 0.9 --top-p 0.5 --seed 5 --quiet | cmp -s - "$T/s4.txt"'

# the tokenizer and the configuration found elsewhere
mkdir "$T/bare"; ln -s "$M/stories260K.safetensors" "$T/bare/model.safetensors"
"$CLI" generate "$T/bare" --quiet > /dev/null 2> "$T/e1.txt"; rc=$?
check "no params.json: exit 2 naming the directory" '[ $rc -eq 2 ] && grep -q "params.json" "$T/e1.txt"'
"$CLI" generate "$T/bare" --config "$M/params.json" --quiet > /dev/null 2> "$T/e2.txt"; rc=$?
check "no tokenizer: exit 2" '[ $rc -eq 2 ] && grep -q "tokenizer" "$T/e2.txt"'
"$CLI" generate "$T/bare" --config "$M/params.json" --tokenizer "$M/tok512.bin" --quiet > "$T/b.txt"
check "--config and --tokenizer from elsewhere give the same text" 'cmp -s "$T/b.txt" "$T/want.txt"'

# the thread count changes nothing
OPENBLAS_NUM_THREADS=1 "$CLI" generate "$M" --steps 80 --temperature 0.7 --seed 3 --quiet > "$T/t1.txt"
OPENBLAS_NUM_THREADS=2 "$CLI" generate "$M" --steps 80 --temperature 0.7 --seed 3 --quiet > "$T/t2.txt"
check "1 and 2 BLAS threads give the same sample" 'cmp -s "$T/t1.txt" "$T/t2.txt"'

# a prompt longer than the context (512) is refused
long=$(for i in $(seq 1 300); do printf 'the dog '; done)
"$CLI" generate "$M" --prompt "$long" --quiet > /dev/null 2> "$T/e4.txt"; rc=$?
check "a prompt beyond the context: exit 2 naming the limit" '[ $rc -eq 2 ] && grep -q "exceeds the context of 512" "$T/e4.txt"'

"$CLI" generate > /dev/null 2>&1; rc=$?
check "no MODEL: usage error 1" '[ $rc -eq 1 ]'
"$CLI" generate "$M" --temperature -1 > /dev/null 2>&1; rc=$?
check "negative temperature: usage error 1" '[ $rc -eq 1 ]'
"$CLI" generate "$M" --steps x > /dev/null 2>&1; rc=$?
check "non-numeric steps: usage error 1" '[ $rc -eq 1 ]'
"$CLI" generate "$T/nonexistent.safetensors" > /dev/null 2> "$T/e3.txt"; rc=$?
check "missing model: exit 2 naming it" '[ $rc -eq 2 ] && grep -q "nonexistent" "$T/e3.txt"'
exit $fail
