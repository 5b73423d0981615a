#!/usr/bin/env python3
"""Conformance of trueq's linear codecs with the seeds' numpy math.

Writes a float32 safetensors model with numpy, runs `trueq convert` for every
bits x scheme x granularity, reads the codes and scales back with numpy alone
(parsing safetensors by hand, unpacking 4/2-bit codes in the documented bit
order) and checks them against the seeds' formulas computed here in numpy:
    symmetric: scale = max|w| / qmax; q = clip(np.round(w / scale), -qmax, qmax)
    affine:    lo = min(w.min(), 0), hi = max(w.max(), 0), s = (hi - lo) / umax,
               z = clip(np.round(-lo / s), 0, umax), u = clip(np.round(w / s) + z, 0, umax)
Codes must match exactly; the scales exactly.
usage: check_linear.py TRUEQ_BINARY WORKDIR"""
import json, os, struct, subprocess, sys
import numpy as np

tq, work = sys.argv[1], sys.argv[2]

def write_st(path, tensors):
    hdr, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, a in tensors.items():
        b = a.astype("<f4").tobytes()
        hdr[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def read_st(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    dt = {"F32": "<f4", "I8": "i1", "U8": "u1"}
    out = {}
    for k, v in hdr.items():
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dt[v["dtype"]]).reshape(v["shape"])
    return out, meta

def unpack(codes, bits, cols):
    """LSB-first: element j of a row at bits [(j % per) * bits, ...) of byte j // per."""
    per = 8 // bits
    u = np.zeros((codes.shape[0], codes.shape[1] * per), dtype=np.int64)
    for k in range(per):
        u[:, k::per] = (codes.astype(np.int64) >> (k * bits)) & ((1 << bits) - 1)
    return u[:, :cols]

rng = np.random.default_rng(7)
w = (rng.standard_normal((48, 128)) * 0.05).astype(np.float32)
w[3, 5] = 0.9                    # an outlier
w[10, :] = 0.0                   # an all-zero row
src = os.path.join(work, "src")
os.makedirs(src, exist_ok=True)
write_st(os.path.join(src, "model.safetensors"), {"layer.weight": w})

failures = 0
def check(cond, what):
    global failures
    print(("ok - " if cond else "not ok - ") + what)
    failures += 0 if cond else 1

for scheme in ("symmetric", "affine"):
    for bits in (8, 4, 2):
        for gran in ("tensor", "channel", "group:32"):
            out = os.path.join(work, "%s%d%s" % (scheme, bits, gran.replace(":", "")))
            subprocess.run([tq, "convert", src, "-o", out, "--bits", str(bits), "--scheme", scheme,
                            "--granularity", gran], check=True, stdout=subprocess.DEVNULL)
            t, meta = read_st(os.path.join(out, "model.safetensors"))
            desc = json.loads(meta["trueq.tensor.layer.weight"])
            codes, scale = t["layer.weight"], t["layer.weight.__scale__"]
            rows, cols = w.shape
            g = 32 if gran.startswith("group") else (cols if gran == "channel" else None)
            # blocks as (rows, groups, glen) views
            if gran == "tensor":
                blocks = w.reshape(1, 1, -1)
            else:
                blocks = w.reshape(rows, cols // g, g)
            if scheme == "symmetric":
                qmax = (1 << (bits - 1)) - 1
                s = np.abs(blocks).max(axis=2, keepdims=True) / np.float32(qmax)
                with np.errstate(divide="ignore", invalid="ignore"):
                    q = np.where(s > 0, np.clip(np.round(blocks / s), -qmax, qmax), 0).astype(np.int64)
                q = q.reshape(rows, cols)
                got = codes.astype(np.int64) if bits == 8 else unpack(codes, bits, cols) - (1 << (bits - 1))
            else:
                umax = (1 << bits) - 1
                lo = np.minimum(blocks.min(axis=2, keepdims=True), 0)
                hi = np.maximum(blocks.max(axis=2, keepdims=True), 0)
                s = (hi - lo) / np.float32(umax)
                with np.errstate(divide="ignore", invalid="ignore"):
                    z = np.where(s > 0, np.clip(np.round(-lo / s), 0, umax), 0)
                    q = np.where(s > 0, np.clip(np.round(blocks / s) + z, 0, umax), 0).astype(np.int64)
                q = q.reshape(rows, cols)
                got = codes.astype(np.int64) if bits == 8 else unpack(codes, bits, cols)
                check(np.array_equal(t["layer.weight.__zero__"].reshape(-1), z.reshape(-1).astype(np.uint8)),
                      "%s %d-bit %s: zero points equal numpy's" % (scheme, bits, gran))
            name = "%s %d-bit %s" % (scheme, bits, gran)
            check(desc["bits"] == bits and desc["dtype"] == "F32" and desc["shape"] == [48, 128], name + ": descriptor")
            check(codes.dtype == (np.int8 if (bits == 8 and scheme == "symmetric") else np.uint8), name + ": stored dtype")
            check(codes.nbytes == rows * ((cols * bits + 7) // 8), name + ": %d bytes of codes" % codes.nbytes)
            check(np.array_equal(scale.reshape(-1), s.astype(np.float32).reshape(-1)), name + ": scales equal numpy's")
            check(np.array_equal(got, q), name + ": codes equal numpy's np.round/clip")


# numpy.load opens the .npz variant: same codes and scales, dequantized values within s/2
for bits, gran in ((8, "channel"), (4, "group:32"), (2, "tensor")):
    out = os.path.join(work, "npz%d%s" % (bits, gran.replace(":", "")))
    subprocess.run([tq, "convert", src, "-o", out, "--bits", str(bits), "--granularity", gran, "--format", "npz"],
                   check=True, stdout=subprocess.DEVNULL)
    ref = os.path.join(work, "symmetric%d%s" % (bits, gran.replace(":", "")))
    t, meta = read_st(os.path.join(ref, "model.safetensors"))
    z = np.load(os.path.join(out, "weights.npz"))
    name = "npz %d-bit %s" % (bits, gran)
    check(np.array_equal(z["layer.weight"], t["layer.weight"]) and z["layer.weight"].dtype == t["layer.weight"].dtype,
          name + ": numpy.load gives the same codes, same dtype")
    check(np.array_equal(z["layer.weight.__scale__"], t["layer.weight.__scale__"]), name + ": same scales")
    md = json.loads(z["__trueq__.json"]) if "__trueq__.json" in z.files else {}
    check(md.get("trueq.tensor.layer.weight") == meta["trueq.tensor.layer.weight"], name + ": descriptor in __trueq__.json")
    codes, s = z["layer.weight"], z["layer.weight.__scale__"]
    rows, cols = w.shape
    q = codes.astype(np.int64) if bits == 8 else unpack(codes, bits, cols) - (1 << (bits - 1))
    if gran == "tensor":
        deq = q * s.reshape(())
        step = np.full(w.shape, s.reshape(()))
    elif gran == "channel":
        deq = q * s.reshape(-1, 1)
        step = np.repeat(s.reshape(-1, 1), cols, axis=1)
    else:
        deq = q * np.repeat(s, 32, axis=1)
        step = np.repeat(s, 32, axis=1)
    check(np.all(np.abs(deq - w) <= step / 2 * (1 + 1e-6) + 1e-12), name + ": numpy-dequantized values within half a step")

sys.exit(1 if failures else 0)
