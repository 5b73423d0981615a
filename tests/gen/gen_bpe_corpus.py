#!/usr/bin/env python3
"""Seed corpus of fuzz/fuzz_bpe.c. The first byte picks the mode (0:
tokenizer.json NUL text, 1: pre-name byte + text for the fixed 256-byte
tokenizer, 2: vocab.json NUL merges.txt NUL text). Small hand-made
tokenizers and near-misses; nothing from a real model. Standard library
only. usage: tests/gen/gen_bpe_corpus.py OUTDIR"""
import json, os, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def byte_chars():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    m, k = {}, 0
    for b in range(256):
        if b in keep:
            m[b] = chr(b)
        else:
            m[b] = chr(256 + k)
            k += 1
    return m


BC = byte_chars()
VOCAB = {c: i for i, c in enumerate(BC[b] for b in range(256))}
for extra in ["\u0120t", "he", "\u0120the", "in", "\u0120in"]:
    VOCAB[extra] = len(VOCAB)
MERGES = ["\u0120 t", "h e", "\u0120t he", "i n", "\u0120 in"]
TEXT = "The quick the in\tin  \n café 日本 😀 12345 it's <|endoftext|> <|endoftext".encode()
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def tj(**over):
    d = {"version": "1.0",
         "added_tokens": [{"id": len(VOCAB), "content": "<|endoftext|>", "special": True, "normalized": False,
                           "lstrip": False, "rstrip": False, "single_word": False}],
         "normalizer": None,
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
         "post_processor": None, "decoder": {"type": "ByteLevel"},
         "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                   "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                   "vocab": VOCAB, "merges": MERGES}}
    for k, v in over.items():
        if k.startswith("model_"):
            d["model"][k[6:]] = v
        else:
            d[k] = v
    return json.dumps(d, ensure_ascii=False).encode()


split_seq = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}
cases = {
    "json_basic": b"\x00" + tj() + b"\x00" + TEXT,
    "json_llama3": b"\x00" + tj(pre_tokenizer=split_seq, model_ignore_merges=True) + b"\x00" + TEXT,
    "json_digits_nfkc": b"\x00" + tj(normalizer={"type": "NFKC"}, pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, {"type": "ByteLevel", "add_prefix_space": True}]}) + b"\x00" + TEXT,
    "json_pair_merges": b"\x00" + tj(model_merges=[m.split(" ") for m in MERGES]) + b"\x00" + TEXT,
    "json_template": b"\x00" + tj(post_processor={"type": "TemplateProcessing", "single": [
        {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [len(VOCAB)], "tokens": ["<|endoftext|>"]}}})
        + b"\x00" + TEXT,
    "json_bad_regex": b"\x00" + tj(pre_tokenizer={"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"})
        + b"\x00" + TEXT,
    "json_bad_merge": b"\x00" + tj(model_merges=["x y"]) + b"\x00" + TEXT,
    "json_unk_fuse": b"\x00" + tj(model_vocab={"<unk>": 0, "a": 1}, model_merges=[], model_unk_token="<unk>",
                                  model_fuse_unk=True, added_tokens=[]) + b"\x00" + b"abcab",
    "json_truncated": b"\x00" + tj()[:300],
    "fixed_gpt2": b"\x01\x00" + TEXT,
    "fixed_llama3": b"\x01\x01" + TEXT + b" 1234567 \r\n\r\n  x",
    "fixed_qwen2": b"\x01\x02" + TEXT,
    "fixed_smollm": b"\x01\x03" + TEXT,
    "fixed_bad_utf8": b"\x01\x00" + b"ok \xf0\x9f\x98 cut \xed\xa0\x80 surrogate \xc0\xaf overlong",
    "fixed_spaces": b"\x01\x01" + b" " * 200 + b"\t" * 50 + b"x",
    "vm_basic": b"\x02" + json.dumps(VOCAB, ensure_ascii=False).encode() + b"\x00" +
        ("#version: 0.2\n" + "\n".join(MERGES) + "\n").encode() + b"\x00" + TEXT,
    "vm_roberta": b"\x02" + json.dumps(dict(VOCAB, **{"<s>": 900, "</s>": 901}), ensure_ascii=False).encode() + b"\x00" +
        ("\n".join(MERGES)).encode() + b"\x00" + TEXT + b"<mask> <s>",
    "vm_bad_merges": b"\x02" + json.dumps(VOCAB, ensure_ascii=False).encode() + b"\x00" + b"a b c\n\n" + b"\x00" + TEXT,
}
for name, data in cases.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(cases)} seeds in {out}")
