#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_model.c: tiny trueq-layout safetensors
files (valid ones for every linear layout, and near-misses). Standard library only.
usage: tests/gen/gen_model_corpus.py fuzz/corpus/model"""
import json, os, struct, sys

def st(entries, meta):
    """entries: list of (name, dtype, shape, bytes)."""
    hdr, off, blob = {}, 0, b""
    if meta:
        hdr["__metadata__"] = meta
    for name, dt, shape, data in entries:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blob += data
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blob

def desc(codec, bits, gran, shape, group=None, extra=None):
    d = {"codec": codec, "bits": bits, "granularity": gran}
    if group:
        d["group"] = group
        d["pad"] = False
    d.update({"dtype": "F32", "shape": shape})
    if extra:
        d.update(extra)
    return json.dumps(d, separators=(",", ":"))

f32 = lambda vals: struct.pack("<%df" % len(vals), *vals)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
cases = {
    "sym8_channel": st([("w", "I8", [2, 4], bytes([1, 255, 127, 129, 0, 3, 4, 5])), ("w.__scale__", "F32", [2], f32([0.5, 2.0]))],
                       {"format": "pt", "trueq.tensor.w": desc("linear-sym", 8, "channel", [2, 4])}),
    "sym4_group": st([("w", "U8", [2, 2], bytes([0x1F, 0x4A, 0x98, 0x00])), ("w.__scale__", "F32", [2, 2], f32([1, 2, 3, 4]))],
                     {"format": "pt", "trueq.tensor.w": desc("linear-sym", 4, "group", [2, 4], group=2)}),
    "aff2_tensor": st([("w", "U8", [1, 2], bytes([0x67, 0x02])), ("w.__scale__", "F32", [], f32([1.0])), ("w.__zero__", "U8", [], bytes([1]))],
                      {"format": "pt", "trueq.tensor.w": desc("linear-affine", 2, "tensor", [5])}),
    "simulated": st([("w", "F32", [2, 2], f32([0.5, -0.5, 1.0, 0.0]))],
                    {"format": "pt", "trueq.tensor.w": desc("linear-sym", 8, "tensor", [2, 2], extra={"simulated": True})}),
    "plain_mixed": st([("a", "F16", [2, 2], b"\x00\x3c" * 4), ("b", "BF16", [3], b"\x80\x3f" * 3), ("c", "I64", [1], b"\x07" + b"\x00" * 7)],
                      {"format": "pt"}),
    "bad_desc_shape": st([("w", "I8", [2, 4], bytes(8)), ("w.__scale__", "F32", [2], f32([1, 1]))],
                         {"format": "pt", "trueq.tensor.w": desc("linear-sym", 8, "channel", [4, 2, 1])}),
    "missing_scale": st([("w", "I8", [2, 4], bytes(8))], {"format": "pt", "trueq.tensor.w": desc("linear-sym", 8, "channel", [2, 4])}),
    # data order puts 3 bytes of codes first, so the F32 scale is misaligned
    # (files need not align data; the loader must cope)
    "unaligned_scale": st([("w", "U8", [1, 3], bytes([0x67, 0x02, 0x01])), ("w.__scale__", "F32", [], f32([1.0])),
                           ("w.__zero__", "U8", [], bytes([1]))],
                          {"format": "pt", "trueq.tensor.w": desc("linear-affine", 8, "tensor", [3])}),
    "fake_quant": st([("w", "F32", [2, 16], f32([float(i % 5 - 2) for i in range(32)]))], {"format": "pt"}),
}
for name, data in cases.items():
    with open(os.path.join(out, name + ".safetensors"), "wb") as fh:
        fh.write(data)
print("wrote %d files to %s" % (len(cases), out))
