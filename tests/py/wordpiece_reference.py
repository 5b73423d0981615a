#!/usr/bin/env python3
"""Known answers for tests/test_wordpiece_reference.c: Hugging Face's
BertTokenizerFast (tokenizers) and BertTokenizer (slow, pure Python) on the
texts of tests/data/wordpiece_texts.txt plus seeded random strings, for each
tokenizer directory given, with LongestFirst truncation at several max_length.

usage: wordpiece_reference.py TEXTS OUT.json NAME=DIR [NAME=DIR ...]
Writes a JSON list of {tok, a, b, max_len, ids, type_ids, slow_ids,
slow_type_ids}; ids are the fast tokenizer's (the reference)."""
import json, random, sys, warnings

warnings.filterwarnings("ignore")
from transformers import BertTokenizer, BertTokenizerFast
from transformers.utils import logging

logging.set_verbosity_error()
texts_file, out = sys.argv[1], sys.argv[2]
dirs = [a.split("=", 1) for a in sys.argv[3:]]

cases = []  # (a, b, max_len)
for line in open(texts_file, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    line = line.encode("latin-1", "backslashreplace").decode("unicode_escape")
    if " ||| " in line:
        a, b = line.split(" ||| ", 1)
        for m in (512, 16, 9, 8, 7, 5):
            cases.append((a, b, m))
    else:
        cases.append((line, None, 512))
        cases.append((line, None, 6))

# Seeded random strings over a pool of interesting characters.
pool = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789      .,;:!?'\"()[]{}-_/\\@#$%^&*~`+=<>|")
pool += list("éèêëÉÀÅåäöüßñçøæœ") + ["e\u0301", "a\u0308", "\u0301", "\u0323", "\u0130", "\u0131"]
pool += list("我爱北京天安门中文字") + list("ひらがなカタカナ") + list("안녕하세요") + list("Ωαβγδσς")
pool += ["\t", "\n", "\r", "\x00", "\x01", "\x7f", "\x85", "\u00a0", "\u200b", "\u200d", "\ufeff", "\u2028", "\u3000",
         "\ufffd", "\ue000", "\u0378", "😀", "👍🏽", "🫠", "\u2019", "\u201c", "\u2014", "\u2026", "¿", "¡", "«", "»",
         "[CLS]", "[SEP]", "[MASK]", "[UNK]", "##", "##ing", "playing", "the ", "quantization", "un", "##ed"]
rng = random.Random(20240521)
for i in range(400):
    s = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
    if i % 4 == 3:
        t = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        cases.append((s, t, rng.choice([512, 24, 12, 9, 5, 3])))
    else:
        cases.append((s, None, rng.choice([512, 512, 16, 7, 2])))
# Pairs of words only, to exercise truncation of all length combinations.
for la in range(0, 13, 3):
    for lb in range(0, 13, 2):
        for m in (3, 4, 7, 10, 15):
            cases.append((" ".join(["dog"] * la), " ".join(["cat"] * lb), m))

res = []
for name, d in dirs:
    fast = BertTokenizerFast.from_pretrained(d)
    slow = BertTokenizer.from_pretrained(d)
    for a, b, m in cases:
        kw = dict(truncation="longest_first", max_length=m)
        if "\x00" in a or (b and "\x00" in b):
            continue  # C strings end at NUL
        f = fast(a, b, **kw) if b is not None else fast(a, **kw)
        s = slow(a, b, **kw) if b is not None else slow(a, **kw)
        res.append({"tok": name, "a": a, "b": b, "max_len": m, "ids": f["input_ids"], "type_ids": f["token_type_ids"],
                    "slow_ids": s["input_ids"], "slow_type_ids": s["token_type_ids"]})
json.dump(res, open(out, "w"), ensure_ascii=True)
print("%d cases" % len(res))
