#!/usr/bin/env python3
"""Seed corpus of fuzz/fuzz_wordpiece.c. The first byte picks the mode
(0: vocab.txt image NUL text, 1: tokenizer.json NUL text, 2: max_len byte,
text with the fixed vocabulary, 3: the same with a pair "A NUL B").
Small hand-made vocabularies and near-misses; nothing from a real model.
Standard library only. usage: tests/gen/gen_wordpiece_corpus.py OUTDIR"""
import json, os, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
vocab = SPECIALS + ["hello", "world", "##s", "un", "##aff", "##able", "a", "##a", "!", ",", "caf\u00e9", "cafe",
                    "\u6211", "\u7231", "##\u7231", "x", "##x"]
TEXT = "Hello, World! Caf\u00e9 unaffable \u6211\u7231x [MASK] a\u0301 \U0001F600\t\u3000end".encode()


def vtxt(tokens, nl="\n"):
    return nl.join(tokens).encode() + nl.encode()


def tj(v, **extra):
    d = {"version": "1.0", "added_tokens": [{"id": 4, "content": "[MASK]"}],
         "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                        "strip_accents": None, "lowercase": True},
         "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                   "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(v)}}}
    d.update(extra)
    return json.dumps(d).encode()


cases = {
    "vocab_basic": b"\x00" + vtxt(vocab) + b"\x00" + TEXT,
    "vocab_crlf": b"\x00" + vtxt(vocab, "\r\n") + b"\x00" + TEXT,
    "vocab_dup": b"\x00" + vtxt(vocab + ["hello", "##s"]) + b"\x00" + b"hellos hello",
    "vocab_no_unk": b"\x00" + vtxt([t for t in vocab if t != "[UNK]"]) + b"\x00" + TEXT,
    "vocab_bad_utf8": b"\x00" + vtxt(vocab[:6]) + b"ab\xe9z\n" + b"\x00" + TEXT,
    "vocab_empty_lines": b"\x00" + vtxt(SPECIALS) + b"\n\n\n##\n#\n\x00" + b"## # ##a",
    "vocab_text_bad_utf8": b"\x00" + vtxt(vocab) + b"\x00" + b"ok \xf0\x9f\x98 cut",
    "json_basic": b"\x01" + tj(vocab) + b"\x00" + TEXT,
    "json_no_lower": b"\x01" + tj(vocab, normalizer={"type": "BertNormalizer", "lowercase": False}) + b"\x00" + TEXT,
    "json_bad_ids": b"\x01" + tj(vocab).replace(b'"hello": 5', b'"hello": 500') + b"\x00" + TEXT,
    "json_truncated": b"\x01" + tj(vocab)[:120] + b"\x00" + TEXT,
    "json_bpe": b"\x01" + tj(vocab).replace(b'"WordPiece"', b'"BPE"') + b"\x00" + TEXT,
    "json_prefix": b"\x01" + tj(vocab).replace(b'"continuing_subword_prefix": "##"',
                                               b'"continuing_subword_prefix": "@@"') + b"\x00" + TEXT,
    "fixed_text": b"\x02\x00" + TEXT,
    "fixed_long_word": b"\x02\x00" + b"a" * 150 + b" " + b"\xc3\xa9" * 120,
    "fixed_controls": b"\x02\x00" + bytes(range(1, 32)) + b"\x7f\xc2\x85\xe2\x80\x8b\xef\xbf\xbd",
    "fixed_specials": b"\x02\x00" + b"[CLS][SEP][MASK]x[PAD [UNK]] [mask]",
    "fixed_pair_trunc": b"\x03\x09" + b"the quick " * 8 + b"\x00" + b"a a a b b b " * 5,
    "fixed_pair_tiny": b"\x03\x02" + b"the\x00quick",
    "fixed_invalid": b"\x02\x05\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff",
}
for name, data in cases.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print("wrote %d files to %s" % (len(cases), out))
