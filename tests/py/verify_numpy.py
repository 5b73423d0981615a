#!/usr/bin/env python3
"""Conformance of `trueq verify` (metrics) and of the codec-lab storage layouts
with numpy, computed independently here.

1. Plain floats: ORIG and QUANT safetensors written with numpy (QUANT = ORIG
   perturbed, a tensor only on each side, a shape mismatch). `trueq verify
   --json` must report, per tensor and pooled, the metrics numpy computes in
   float64: MSE, RMSE, relative Frobenius error, max abs error, SNR dB, cosine,
   clipped fraction (outside [min q, max q] of the tensor), and the relative
   error on the ceil(n/1000) largest |w| (stable order: lower index first).
2. Quantized: `trueq convert --codec C` for qins-log, qins-log-2b,
   qins-rational and nf4; numpy reads the codes and side tensors (parsing
   safetensors by hand), decodes them by the formulas of docs/codecs.md and
   checks the codes against the encoding formulas; verify's MSE must equal the
   MSE of numpy's decoded values.
usage: verify_numpy.py TRUEQ_BINARY WORKDIR"""
import json, math, os, struct, subprocess, sys
import numpy as np

tq, work = sys.argv[1], sys.argv[2]
failures = 0

def check(cond, what):
    global failures
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures += 1

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

def metrics(w, q):
    w = w.astype(np.float64).ravel()
    q = q.astype(np.float64).ravel()
    e = w - q
    n = w.size
    sw, se, sq, swq = (w * w).sum(), (e * e).sum(), (q * q).sum(), (w * q).sum()
    lo, hi = q.min(), q.max()
    tol = 1e-6 * max(abs(lo), abs(hi))
    k = (n + 999) // 1000
    top = np.argsort(-np.abs(w.astype(np.float32)), kind="stable")[:k]
    return {
        "n": n, "mse": se / n, "rmse": math.sqrt(se / n), "rel_error": math.sqrt(se / sw),
        "max_abs_error": np.abs(e).max(), "snr_db": 10 * math.log10(sw / se) if se > 0 else None,
        "cosine": swq / math.sqrt(sw * sq),
        "clipped_fraction": float(((w > hi + tol) | (w < lo - tol)).sum()) / n,
        "top_rel_error": math.sqrt((e[top] ** 2).sum() / (w[top] ** 2).sum()),
        "_sums": (sw, se, sq, swq, n),
    }

def close(a, b, rtol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-300

def run_json(args):
    r = subprocess.run([tq] + args, capture_output=True, text=True)
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip().startswith("{") else None), r.stderr

rng = np.random.default_rng(11)
# ---------------------------------------------------------------- 1. plain floats
W = {
    "enc.layer.0.w": (rng.standard_normal((64, 96)) * 0.05).astype(np.float32),
    "enc.layer.1.w": (rng.standard_t(3, (3000,)) * 0.02).astype(np.float32),
    "bias": rng.standard_normal((17,)).astype(np.float32),
    "only_orig": np.ones((4,), np.float32),
    "shape": np.ones((2, 3), np.float32),
}
W["enc.layer.0.w"][5, 7] = 2.0
W["enc.layer.1.w"][100] = W["enc.layer.1.w"][2000] = 1.5     # a tie among the top weights
Q = {k: v.copy() for k, v in W.items() if k not in ("only_orig", "shape")}
Q["enc.layer.0.w"] = (Q["enc.layer.0.w"] + rng.standard_normal((64, 96)).astype(np.float32) * 0.003).astype(np.float32)
Q["enc.layer.0.w"][5, 7] = 1.8                                 # the max is clipped
Q["enc.layer.1.w"] = np.round(Q["enc.layer.1.w"] * 50).astype(np.float32) / np.float32(50)
Q["only_quant"] = np.zeros((3,), np.float32)
Q["shape"] = np.ones((3, 2), np.float32)
os.makedirs(work, exist_ok=True)
po, pq = os.path.join(work, "orig.safetensors"), os.path.join(work, "quant.safetensors")
write_st(po, W)
write_st(pq, Q)
rc, js, err = run_json(["verify", po, pq, "--json"])
check(rc == 0 and js is not None, "verify --json runs (rc %d) %s" % (rc, err.strip()))
if js:
    rows = {t["name"]: t for t in js["tensors"]}
    check(rows["only_orig"]["presence"] == "orig-only" and rows["only_quant"]["presence"] == "quant-only"
          and rows["shape"]["presence"] == "shape-mismatch", "one-sided tensors and shape mismatch listed")
    pooled = [0.0, 0.0, 0.0, 0.0, 0]
    for name in ("enc.layer.0.w", "enc.layer.1.w", "bias"):
        want = metrics(W[name], Q[name])
        got = rows[name]["metrics"]
        for key in ("mse", "rmse", "rel_error", "max_abs_error", "snr_db", "cosine", "clipped_fraction", "top_rel_error"):
            check(close(got[key], want[key], 1e-7), "%s %s: trueq %r numpy %r" % (name, key, got[key], want[key]))
        check(got["n"] == want["n"], "%s n" % name)
        pooled = [a + b for a, b in zip(pooled, want["_sums"])]
    sw, se, sq, swq, n = pooled
    ov = js["overall"]
    check(close(ov["mse"], se / n, 1e-7) and close(ov["rel_error"], math.sqrt(se / sw), 1e-7)
          and close(ov["cosine"], swq / math.sqrt(sw * sq), 1e-9), "pooled metrics match numpy")
    check(ov["n"] == n, "pooled n")

# ---------------------------------------------------------------- 2. codec layouts
NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                0.7229568362236023, 1.0], dtype=np.float32)

def rat_lut(alpha, wmax):
    lut = np.zeros(256, np.float64)
    for u in range(256):
        if u in (0, 255):
            continue
        e1, e2 = abs((u - 0.5) / 127.5 - 1), abs((u + 0.5) / 127.5 - 1)
        emin, emax = min(e1, e2), min(max(e1, e2), 1.0)
        if u in (127, 128):
            emin = 0.0
        lo = (1 / emax - 1) / alpha
        hi = (1 / emin - 1) / alpha if emin > 0 else math.inf
        hi = min(hi, wmax)
        lo = min(lo, hi)
        lut[u] = (lo + hi) / 2 * (-1 if u < 128 else 1)
    return lut.astype(np.float32)

w = (rng.standard_normal((32, 128)) * 0.04).astype(np.float32)
w[0, :8] = 0.0
w[3, 3] = -0.7
src = os.path.join(work, "src")
os.makedirs(src, exist_ok=True)
write_st(os.path.join(src, "model.safetensors"), {"layer.0.attn.q.weight": w})
name = "layer.0.attn.q.weight"
for codec, gran, bits in (("qins-log", "channel", 8), ("qins-log-2b", "tensor", 8), ("qins-rational", "channel", 8),
                          ("nf4", "group:64", 4)):
    out = os.path.join(work, "out-" + codec)
    r = subprocess.run([tq, "convert", src, "-o", out, "--codec", codec, "--bits", str(bits), "--granularity", gran],
                       capture_output=True, text=True)
    check(r.returncode == 0, "convert --codec %s: rc %d %s" % (codec, r.returncode, r.stderr.strip()[:200]))
    if r.returncode:
        continue
    t, meta = read_st(os.path.join(out, "model.safetensors"))
    codes = t[name]
    w64 = w.astype(np.float64)
    if codec in ("qins-log", "qins-log-2b"):
        L = 127 if codec == "qins-log" else 255
        rg = t[name + ".__scale__"].reshape(-1, 2)
        per_row = gran == "channel"
        lmin = (rg[:, 0] if per_row else np.repeat(rg[0, 0], 32)).astype(np.float64)[:, None]
        lmax = (rg[:, 1] if per_row else np.repeat(rg[0, 1], 32)).astype(np.float64)[:, None]
        if codec == "qins-log":
            mag, neg = codes & 0x7F, (codes >> 7) == 1
        else:
            mag, neg = codes, t[name + ".__sign__"] < 0
        # encoding formula (numpy): code = clip(round(L - (L-1) t), 1, L), 0 for zeros
        a = np.abs(w64)
        with np.errstate(divide="ignore"):
            tt = (np.log(np.where(a > 0, a, 1)) - lmin) / (lmax - lmin)
        want = np.where(a > 0, np.clip(np.round(L - (L - 1) * tt), 1, L), 0)
        check(np.array_equal(mag, want), "%s codes match the formula" % codec)
        check(np.array_equal(neg[a > 0], (w < 0)[a > 0]), "%s signs" % codec)
        dec = np.where(mag == 0, 0.0, np.exp(lmin + (L - mag) * (lmax - lmin) / (L - 1)))
        dec = (np.where(neg, -dec, dec)).astype(np.float32)
    elif codec == "qins-rational":
        side = t[name + ".__alpha__"].reshape(-1, 2)
        dec = np.zeros_like(w)
        ok = True
        for i in range(32):
            al = float(side[i, 0])
            e = 1 / (1 + al * np.abs(w64[i]))
            u = np.round((e + 1) * 127.5)
            u = np.where(w[i] < 0, 255 - u, u)
            u = np.where(w[i] == 0, 255, u)
            ok &= np.array_equal(codes[i], u)
            ok &= float(side[i, 1]) == float(np.abs(w[i]).max())
            dec[i] = rat_lut(al, float(side[i, 1]))[codes[i]]
        check(ok, "qins-rational codes match e = 1/(1+alpha|w|), u = round((e+1)*127.5), sign mirrored")
    else:
        sc = t[name + ".__scale__"]
        u = np.zeros((32, 128), np.int64)
        u[:, 0::2] = codes & 15
        u[:, 1::2] = codes >> 4                      # LSB-first: element 2k in the low nibble
        check(np.array_equal(sc, np.abs(w).reshape(32, 2, 64).max(axis=2)), "nf4 absmax per 64-block")
        x = np.clip(w.reshape(32, 2, 64) * (np.float32(1) / sc[:, :, None]), -1, 1).reshape(32, 128)
        mids = ((NF4[:-1].astype(np.float64) + NF4[1:]) / 2).astype(np.float32)
        want = (x[:, :, None] > mids[None, None, :]).sum(axis=2)
        check(np.array_equal(u, want), "nf4 codes: nearest code-book entry, ties to the lower code")
        dec = (NF4[u].reshape(32, 2, 64) * sc[:, :, None]).reshape(32, 128)
    rc, js, err = run_json(["verify", src, out, "--json"])
    check(rc == 0 and js is not None, "verify %s" % codec)
    if js:
        m = js["tensors"][0]["metrics"]
        want = metrics(w, dec)
        check(close(m["mse"], want["mse"], 1e-6), "%s: verify MSE %r = numpy decode MSE %r" % (codec, m["mse"], want["mse"]))
        check(close(m["max_abs_error"], want["max_abs_error"], 1e-6), "%s: max abs error" % codec)

sys.exit(1 if failures else 0)
