#!/usr/bin/env bash
# trueq generate --json on stories260k: the prompt ids, each step's chosen id
# (greedy: the first of its top-5, which are sorted and are the largest
# logits), the pieces joined give the plain run's text, and the stop reason:
# max_tokens, or eos with the id when generation_config.json lists an id the
# model chooses.
set -u
CLI=${TQ_CLI:-build/trueq}
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/stories.sh"   # sets M, or skips
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }

echo "1 403 407" > "$T/ids.txt"
"$CLI" generate "$M" --ids "$T/ids.txt" --steps 12 --quiet > "$T/plain_ids.txt"
"$CLI" generate "$M" --ids "$T/ids.txt" --steps 12 --json --quiet > "$T/ids.json"
check "--json --ids exits 0" '[ $? -eq 0 ]'
check "prompt ids, 12 steps, the plain run's ids, greedy top-5 sorted, stop max_tokens" 'python3 - "$T/ids.json" "$T/plain_ids.txt" <<PY
import json, sys
d = json.load(open(sys.argv[1])); plain = [int(x) for x in open(sys.argv[2]).read().split()]
st = d["steps"]
assert d["prompt_ids"] == [1, 403, 407], d["prompt_ids"]
assert len(st) == 12 and d["generated"] == 12
assert [s["id"] for s in st] == plain[3:], (plain, [s["id"] for s in st])
assert [s["pos"] for s in st] == list(range(2, 14))
for s in st:
    t = s["top5"]
    assert len(t) == 5 and t[0]["id"] == s["id"] and s["piece"] is None
    assert all(t[i]["logit"] >= t[i + 1]["logit"] for i in range(4)) and len({x["id"] for x in t}) == 5
assert d["stop"] == {"reason": "max_tokens", "id": None}, d["stop"]
PY'

"$CLI" generate "$M" --prompt "Once upon a time" --steps 20 --quiet > "$T/plain.txt"
"$CLI" generate "$M" --prompt "Once upon a time" --steps 20 --json --quiet > "$T/text.json"
check "the pieces joined are the plain run's continuation" 'python3 - "$T/text.json" "$T/plain.txt" <<PY
import json, sys
d = json.load(open(sys.argv[1])); plain = open(sys.argv[2]).read().rstrip("\n")
cont = "".join(s["piece"] for s in d["steps"])
assert len(d["steps"]) == 20 and plain == "Once upon a time" + cont, (plain, cont)
PY'

# the 5th chosen id made an EOS id by generation_config.json: generation stops there
eos=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"][4]["id"])' "$T/ids.json")
mkdir "$T/m"
for f in "$M"/*; do ln -s "$f" "$T/m/"; done
echo "{\"eos_token_id\": [99999, $eos]}" > "$T/m/generation_config.json"
"$CLI" generate "$T/m" --ids "$T/ids.txt" --steps 12 --json --quiet > "$T/eos.json"
check "generation_config.json's EOS id stops it: 5 steps, reason eos with the id" 'python3 - "$T/eos.json" $eos <<PY
import json, sys
d = json.load(open(sys.argv[1])); eos = int(sys.argv[2])
assert d["generated"] == 5 and len(d["steps"]) == 5 and d["steps"][-1]["id"] == eos, d
assert d["stop"] == {"reason": "eos", "id": eos}, d["stop"]
PY'
"$CLI" generate "$T/m" --ids "$T/ids.txt" --steps 12 --quiet > "$T/eos_plain.txt"
check "the plain run stops there too (the EOS id not printed)" '[ $(wc -w < "$T/eos_plain.txt") -eq 7 ]'
exit $fail
