#!/usr/bin/env python3
"""Seed corpus of fuzz/fuzz_spm.c: the first byte picks the reader (0: llama2.c
tokenizer.bin, 1: sentencepiece .model). Small hand-made tokenizers and
near-misses (no file from ../shared/models is copied into the repo). Standard library only.
usage: tests/gen/gen_spm_corpus.py OUTDIR"""
import os, struct, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def bin_tok(pieces, maxlen=None):
    b = struct.pack("<i", maxlen if maxlen is not None else max(len(p) for _, p in pieces))
    for score, p in pieces:
        b += struct.pack("<fi", score, len(p)) + p
    return b

basic = [(0.0, b"<unk>"), (0.0, b"<s>"), (0.0, b"</s>")] + [(0.0, b"<0x%02X>" % i) for i in range(256)]
basic += [(-1.0, b" "), (-2.0, b"a"), (-3.0, b"t"), (-1.5, b" t"), (-0.5, b"at"), (-0.2, b" at"), (-4.0, b"\xe2\x96\x81")]

def pb_varint(v):
    o = b""
    while True:
        x = v & 0x7f
        v >>= 7
        if v:
            o += bytes([x | 0x80])
        else:
            return o + bytes([x])

def pb_piece(piece, score, typ):
    body = b"\x0a" + pb_varint(len(piece)) + piece + b"\x15" + struct.pack("<f", score) + b"\x18" + pb_varint(typ)
    return b"\x0a" + pb_varint(len(body)) + body

model = pb_piece(b"<unk>", 0, 2) + pb_piece(b"<s>", 0, 3) + pb_piece(b"</s>", 0, 3)
model += b"".join(pb_piece(b"<0x%02X>" % i, 0, 6) for i in range(256))
model += pb_piece(b"\xe2\x96\x81t", -1, 1) + pb_piece(b"a", -2, 1) + pb_piece(b"at", -0.5, 1)

cases = {
    "bin_basic": b"\x00" + bin_tok(basic),
    "bin_truncated": b"\x00" + bin_tok(basic)[:100],
    "bin_negative_len": b"\x00" + struct.pack("<i", 8) + struct.pack("<fi", 0.0, -5),
    "bin_huge_maxlen": b"\x00" + bin_tok(basic[:5], maxlen=1 << 30),
    "model_basic": b"\x01" + model,
    "model_truncated": b"\x01" + model[:77],
    "model_bad_varint": b"\x01" + b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
}
for name, data in cases.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print("wrote %d files to %s" % (len(cases), out))
