#!/usr/bin/env python3
"""gguf-py side of trueq's GGUF conformance tests (tests/test_gguf_conformance.c,
tests/test_gguf_smollm2.c). Runs in the venv of tests/py/gguf_venv.sh.

  gen DIR      write, with gguf-py's GGUFWriter:
                 DIR/dq_in.gguf   random but valid blocks of every type gguf-py
                                  dequantizes (raw tensors "dq.<TYPE>")
                 DIR/dq_out.gguf  gguf.quants.dequantize of each, as F32
                 DIR/q_in.gguf    float rows (random + edge rows) "q.<TYPE>"
                 DIR/q_out.gguf   gguf.quants.quantize of each, raw
  check FILE   read FILE (written by trueq's writer) with GGUFReader and
               check its KVs, tensor names, types, shapes and data against
               what tests/test_gguf_conformance.c wrote; exit 1 on mismatch
  genref DIR   the same four files as gen (named ref_*.gguf) from ggml's own C
               reference code, dequantize_row_* and quantize_row_*_ref of the
               libggml-base shipped in llama-cpp-python (run this mode with the
               python of tests/py/llama_venv.sh); K-quants and Q8_K included
  dump FILE    write gguf-py's float32 dequantization of every tensor of FILE,
               in file order, to stdout (raw little-endian float32)
"""
import sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

# fp16 scale fields of each block type: byte offsets inside a block
FP16_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "TQ1_0": [52], "TQ2_0": [64], "IQ4_NL": [0], "IQ4_XS": [0],
}
QUANT_TYPES = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0"]


def sane_fp16(rng, n):
    """finite fp16 values: mostly normal +-2^-12..2^3, some zeros and subnormals"""
    mag = np.exp2(rng.uniform(-12, 3, n)).astype(np.float32)
    v = mag * rng.choice([-1.0, 1.0], n).astype(np.float32)
    v[rng.random(n) < 0.03] = 0.0
    sub = rng.random(n) < 0.03
    v[sub] = rng.integers(1, 1024, int(sub.sum())) * np.float32(2.0 ** -24)
    return v.astype(np.float16)


def random_blocks(rng, name, n_blocks):
    qt = T[name]
    bs, ts = gguf.GGML_QUANT_SIZES[qt]
    raw = rng.integers(0, 256, (n_blocks, ts), dtype=np.uint8)
    if name in ("F16", "BF16"):
        if name == "F16":
            raw = sane_fp16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
        else:   # bf16 of finite floats
            f = (rng.standard_normal(n_blocks) * np.exp2(rng.uniform(-20, 20, n_blocks))).astype(np.float32)
            raw = (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8).reshape(n_blocks, 2)
        return raw
    for off in FP16_FIELDS[name]:
        raw[:, off:off + 2] = sane_fp16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return raw


def edge_rows(name, bs):
    n = max(bs, 256)
    rows = []
    rows.append(np.zeros(n, np.float32))
    rows.append(np.full(n, 1.5, np.float32))
    rows.append(np.full(n, -0.75, np.float32))
    # ties: multiples of 0.5 and 0.25 around a max of 8 / 16 / 127 / 1
    for m in (8.0, 16.0, 15.0, 31.0, 127.0, 1.0):
        r = (np.arange(n) % 33 - 16).astype(np.float32) * np.float32(m / 32)
        r[0] = m
        rows.append(r)
        rows.append(-r)
    r = np.zeros(n, np.float32); r[3] = 100.0; r[7] = -0.5; rows.append(r)
    rows.append((np.arange(n, dtype=np.float32) - n / 2) * np.float32(250.0))      # large
    rows.append((np.arange(n, dtype=np.float32) - n / 2) * np.float32(1e-7))       # fp16-subnormal scales
    rows.append(np.where(np.arange(n) % 2 == 0, 0.5, -0.5).astype(np.float32))
    return rows


def write_all(*writers):
    for w in writers:
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()


def gen(outdir):
    rng = np.random.default_rng(20261202)
    w_in = gguf.GGUFWriter(f"{outdir}/dq_in.gguf", "llama")
    w_out = gguf.GGUFWriter(f"{outdir}/dq_out.gguf", "llama")
    for name in ["F16", "BF16"] + list(FP16_FIELDS):
        qt = T[name]
        bs, ts = gguf.GGML_QUANT_SIZES[qt]
        rows = 3
        per_row = 8 if bs > 1 else 256
        raw = random_blocks(rng, name, rows * per_row).reshape(rows, per_row * ts)
        w_in.add_tensor(f"dq.{name}", raw, raw_dtype=qt)
        deq = dequantize(raw, qt).astype(np.float32)
        assert deq.shape == (rows, per_row * bs), (name, deq.shape)
        w_out.add_tensor(f"dq.{name}", deq)
    q_in = gguf.GGUFWriter(f"{outdir}/q_in.gguf", "llama")
    q_out = gguf.GGUFWriter(f"{outdir}/q_out.gguf", "llama")
    for name in QUANT_TYPES:
        qt = T[name]
        bs, _ = gguf.GGML_QUANT_SIZES[qt]
        n = max(bs, 256)
        rows = [rng.standard_normal(n).astype(np.float32) * np.float32(s) for s in (1.0, 0.01, 30.0)]
        rows += [rng.uniform(-1, 1, n).astype(np.float32) + np.float32(2.0)]
        rows += edge_rows(name, bs)
        x = np.stack(rows)
        q_in.add_tensor(f"q.{name}", x)
        with np.errstate(all="ignore"):
            q = quantize(x, qt)
        if name == "F16":   # gguf-py's F16 "quantization" is numpy's astype
            q_out.add_tensor(f"q.{name}", x.astype(np.float16).view(np.uint8), raw_dtype=qt)
        else:
            q_out.add_tensor(f"q.{name}", q, raw_dtype=qt)
    write_all(w_in, w_out, q_in, q_out)


REF_DQ = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K",
          "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0"]
REF_Q = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "TQ1_0", "TQ2_0"]


def genref(outdir):
    import ctypes, os
    import llama_cpp
    lib = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so"))
    rng = np.random.default_rng(20261203)
    fp = ctypes.c_void_p
    w_in, w_out = (gguf.GGUFWriter(f"{outdir}/ref_dq_{k}.gguf", "llama") for k in ("in", "out"))
    for name in REF_DQ:
        qt = T[name]
        bs, ts = gguf.GGML_QUANT_SIZES[qt]
        rows, per_row = 3, 8
        if name == "Q8_K":
            raw = rng.integers(0, 256, (rows * per_row, ts), dtype=np.uint8)
            raw[:, 0:4] = (rng.standard_normal(rows * per_row).astype(np.float32)).view(np.uint8).reshape(-1, 4)
        else:
            raw = random_blocks(rng, name, rows * per_row)
        raw = np.ascontiguousarray(raw.reshape(rows, per_row * ts))
        out = np.zeros((rows, per_row * bs), np.float32)
        f = getattr(lib, "dequantize_row_" + name.lower().replace("_k", "_K"))
        f.argtypes, f.restype = [fp, fp, ctypes.c_int64], None
        f(raw.ctypes.data, out.ctypes.data, out.size)
        w_in.add_tensor(f"dq.{name}", raw, raw_dtype=qt)
        w_out.add_tensor(f"dq.{name}", out)
    q_in, q_out = (gguf.GGUFWriter(f"{outdir}/ref_q_{k}.gguf", "llama") for k in ("in", "out"))
    for name in REF_Q:
        qt = T[name]
        bs, ts = gguf.GGML_QUANT_SIZES[qt]
        n = 1024
        rows = [rng.standard_normal(n).astype(np.float32) * np.float32(s) for s in (1.0, 0.01, 30.0)]
        rows += [rng.uniform(-1, 1, n).astype(np.float32) + np.float32(2.0)]
        rows += [rng.standard_normal(n).astype(np.float32) ** 3]      # heavy tails
        rows += [np.tile(r, n // len(r)) for r in edge_rows(name, 256)]
        x = np.ascontiguousarray(np.stack(rows))
        q = np.zeros((x.shape[0], n // bs * ts), np.uint8)
        f = getattr(lib, "quantize_row_" + name.lower().replace("_k", "_K") + "_ref")
        f.argtypes, f.restype = [fp, fp, ctypes.c_int64], None
        for i in range(x.shape[0]):
            f(x[i].ctypes.data, q[i].ctypes.data, n)
        q_in.add_tensor(f"q.{name}", x)
        q_out.add_tensor(f"q.{name}", q, raw_dtype=qt)
    write_all(w_in, w_out, q_in, q_out)


def field(r, key):
    f = r.fields[key]
    t = f.types[0]
    if t == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    if t == gguf.GGUFValueType.ARRAY:
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        return [f.parts[i].tolist()[0] for i in f.data]
    return f.parts[f.data[0]].tolist()[0], t


def check(path):
    r = gguf.GGUFReader(path)
    V = gguf.GGUFValueType
    want = {
        "general.architecture": "llama",
        "general.alignment": (64, V.UINT32),
        "test.u8": (200, V.UINT8), "test.i8": (-100, V.INT8), "test.u16": (65000, V.UINT16),
        "test.i16": (-30000, V.INT16), "test.u32": (4000000000, V.UINT32), "test.i32": (-2000000000, V.INT32),
        "test.f32": (0.5, V.FLOAT32), "test.bool": (True, V.BOOL), "test.u64": (2**63 + 5, V.UINT64),
        "test.i64": (-(2**62), V.INT64), "test.f64": (-1.25, V.FLOAT64), "test.str": "h\u00e9llo",
        "test.arr_i32": [1, -2, 3], "test.arr_str": ["a", "bc", ""],
    }
    bad = []
    keys = [k for k in r.fields if not k.startswith("GGUF.")]
    if keys != list(want):
        bad.append(f"keys {keys} != {list(want)}")
    for k, v in want.items():
        if k in r.fields:
            got = field(r, k)
            if got != v:
                bad.append(f"{k}: {got!r} != {v!r}")
    if r.alignment != 64:
        bad.append(f"alignment {r.alignment}")
    x = (np.arange(64 * 2, dtype=np.float32) - 60) / np.float32(7)
    tens = {t.name: t for t in r.tensors}
    exp = [("t.f32", T.F32, [4, 3]), ("t.q8_0", T.Q8_0, [64, 2]), ("t.f16", T.F16, [5]), ("t.q4_k", T.Q4_K, [256, 1])]
    if [t.name for t in r.tensors] != [e[0] for e in exp]:
        bad.append(f"tensor names {[t.name for t in r.tensors]}")
    for name, qt, shape in exp:
        t = tens.get(name)
        if t is None:
            continue
        if t.tensor_type != qt or list(t.shape) != shape:
            bad.append(f"{name}: {t.tensor_type.name} {list(t.shape)} != {qt.name} {shape}")
    if "t.f32" in tens and not np.array_equal(tens["t.f32"].data.reshape(-1), np.arange(12, dtype=np.float32)):
        bad.append("t.f32 data")
    if "t.q8_0" in tens and bytes(tens["t.q8_0"].data.reshape(-1)) != bytes(quantize(x.reshape(2, 64), T.Q8_0).reshape(-1)):
        bad.append("t.q8_0 bytes differ from gguf-py's Q8_0 quantization: %s vs %s" % (
            bytes(tens["t.q8_0"].data.reshape(-1)).hex(), bytes(quantize(x.reshape(2, 64), T.Q8_0).reshape(-1)).hex()))
    if "t.f16" in tens and not np.array_equal(tens["t.f16"].data.reshape(-1), np.array([1, -2, 0.5, 65504, 0], np.float16)):
        bad.append("t.f16 data")
    for b in bad:
        print("gguf-py reader:", b, file=sys.stderr)
    return 1 if bad else 0


def dump(path):
    r = gguf.GGUFReader(path)
    out = sys.stdout.buffer
    for t in r.tensors:
        if t.tensor_type in (T.F32, T.F16, T.BF16):
            v = t.data.astype(np.float32) if t.tensor_type != T.BF16 else dequantize(t.data, t.tensor_type)
        else:
            v = dequantize(t.data, t.tensor_type)
        out.write(np.ascontiguousarray(v, dtype="<f4").tobytes())
    out.flush()
    return 0


if __name__ == "__main__":
    cmd, arg = sys.argv[1], sys.argv[2]
    if cmd in ("gen", "genref"):
        (gen if cmd == "gen" else genref)(arg)
        sys.exit(0)
    sys.exit(check(arg) if cmd == "check" else dump(arg))
