#!/usr/bin/env python3
"""Seeds for fuzz/fuzz_model.c covering every codec: a tiny model converted by
trueq with each codec, plus copies whose side tensors hold hostile values
(NaN/Inf/negative scales, lmin > lmax, alpha 0 or NaN). Standard library only.
usage: tests/gen/gen_codec_corpus.py TRUEQ_BINARY OUTDIR"""
import json, os, struct, subprocess, sys, tempfile

tq, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
work = tempfile.mkdtemp()

def write_st(path, tensors):
    hdr, off, blob = {"__metadata__": {"format": "pt"}}, 0, b""
    for name, (shape, vals) in tensors.items():
        b = struct.pack("<%df" % len(vals), *vals)
        hdr[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b); blob += b
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + blob)

vals = [((i * 37) % 23 - 11) * 0.013 + (0.5 if i == 5 else 0.0) for i in range(4 * 8)]
vals[7] = 0.0
src = os.path.join(work, "src"); os.makedirs(src)
write_st(os.path.join(src, "model.safetensors"), {"w.weight": ([4, 8], vals)})

def patch_aux(data, suffix, values):
    """Overwrite the first floats of side tensor w.weight.<suffix>."""
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    e = hdr.get("w.weight." + suffix)
    if not e:
        return None
    b = bytearray(data)
    start = 8 + n + e["data_offsets"][0]
    for i, v in enumerate(values):
        if start + 4 * i + 4 <= 8 + n + e["data_offsets"][1]:
            b[start + 4 * i:start + 4 * i + 4] = struct.pack("<f", v)
    return bytes(b)

nan, inf = float("nan"), float("inf")
for codec, extra in [("qins-log", []), ("qins-log-2b", []), ("qins-rational", []), ("nf4", ["--granularity", "group:8"]),
                     ("linear-affine", ["--bits", "4", "--granularity", "group:4"])]:
    d = os.path.join(work, codec)
    subprocess.run([tq, "convert", src, "-o", d, "--codec", codec] + extra, check=True, stdout=subprocess.DEVNULL)
    data = open(os.path.join(d, "model.safetensors"), "rb").read()
    open(os.path.join(out, codec + ".safetensors"), "wb").write(data)
    for tag, suffix, v in [("nan", "__scale__", [nan, nan]), ("inf", "__scale__", [inf, -inf]),
                           ("swapped", "__scale__", [3.0, -3.0]), ("neg", "__scale__", [-1.0, -2.0]),
                           ("alpha0", "__alpha__", [0.0, 0.0]), ("alphanan", "__alpha__", [nan, 1.0])]:
        bad = patch_aux(data, suffix, v)
        if bad:
            open(os.path.join(out, "%s_%s.safetensors" % (codec, tag)), "wb").write(bad)
print("wrote seeds to", out)
