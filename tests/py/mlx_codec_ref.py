"""Known-answer check of trueq's "mlx" codec against mlx itself (venv-mlx).

For every bits x group x dtype (F32, F16, BF16) and a set of random and
adversarial matrices, mx.quantize is the reference:
  - trueq's U32 codes equal mlx's byte for byte;
  - trueq's float32 scales and biases, rounded to the weight dtype as mlx
    stores them (cast by mlx itself), equal mlx's;
  - trueq's decode of mlx's own (codes, scales, biases), widened to float32,
    equals mx.dequantize's output in that dtype (mlx reading trueq, trueq
    reading mlx).
Usage: python mlx_codec_ref.py  (TRUEQ_LIBRARY = the built libtrueq.so,
PYTHONPATH holding python/). Prints "N passed, M failed"; exit 1 on failure.
"""
import ctypes as C
import sys

import mlx.core as mx
import numpy as np

from trueq import _lib as L

lib = L.lib
CODEC = lib.tq_codec_by_name(b"mlx").contents.id


def trueq_quantize(w32, bits, group):
    rows, cols = w32.shape
    q = L.QParams()
    q.codec, q.bits, q.gran, q.group = CODEC, bits, 2, group
    codes = np.zeros((rows, cols * bits // 32), np.uint32)
    sc = np.zeros((rows, cols // group), np.float32)
    bi = np.zeros_like(sc)
    aux = (C.c_void_p * L.TQ_MAX_AUX)(sc.ctypes.data, bi.ctypes.data, None)
    err = L.Error()
    w = np.ascontiguousarray(w32, np.float32)
    st = lib.tq_quantize(C.byref(q), b"w", w.ctypes.data_as(C.POINTER(C.c_float)), rows, cols,
                         codes.ctypes.data, aux, 0, C.byref(err))
    if st:
        raise RuntimeError(err.msg.decode())
    return codes, sc, bi


def trueq_dequantize(codes, sc, bi, bits, group):
    rows, cols = codes.shape[0], codes.shape[1] * 32 // bits
    q = L.QParams()
    q.codec, q.bits, q.gran, q.group = CODEC, bits, 2, group
    out = np.zeros((rows, cols), np.float32)
    codes, sc, bi = (np.ascontiguousarray(a) for a in (codes, sc, bi))
    aux = (C.c_void_p * L.TQ_MAX_AUX)(sc.ctypes.data, bi.ctypes.data, None)
    err = L.Error()
    st = lib.tq_dequantize(C.byref(q), rows, cols, codes.ctypes.data, aux,
                           out.ctypes.data_as(C.POINTER(C.c_float)), C.byref(err))
    if st:
        raise RuntimeError(err.msg.decode())
    return out


def matrices(group, rng):
    cols = 4 * group
    yield "normal", rng.standard_normal((16, cols)).astype(np.float32)
    yield "uniform", rng.uniform(-3, 5, (8, cols)).astype(np.float32)
    yield "zeros", np.zeros((4, cols), np.float32)
    c = np.full((4, cols), 0.75, np.float32)
    c[1] = -2.5
    c[2] = 1e-9
    yield "constant", c
    t = (np.arange(8 * cols, dtype=np.float32).reshape(8, cols) % 7 - 3) / 2   # ties on the grid
    yield "ties", t
    n = rng.standard_normal((8, cols)).astype(np.float32)
    n[:, ::group] = -40.0                                 # a dominant negative extreme per group
    yield "negdominant", n
    n = rng.standard_normal((8, cols)).astype(np.float32) * 1e-8   # range below the 1e-7 scale floor
    yield "tiny", n
    yield "large", np.clip(rng.standard_normal((4, cols)) * 3e4, -6e4, 6e4).astype(np.float32)   # F16-finite
    s = rng.standard_normal((8, cols)).astype(np.float32)
    s[0] = np.abs(s[0])                                   # one-signed groups
    s[1] = -np.abs(s[1])
    yield "onesided", s


def main():
    rng = np.random.default_rng(11)
    passed = failed = 0
    dtypes = [("F32", mx.float32), ("F16", mx.float16), ("BF16", mx.bfloat16)]
    for bits in (2, 3, 4, 5, 6, 8):
        for group in (32, 64, 128):
            for dname, dt in dtypes:
                for mname, w in matrices(group, rng):
                    tag = f"bits={bits} group={group} {dname} {mname}"
                    wm = mx.array(w).astype(dt)
                    rq, rs, rb = mx.quantize(wm, group_size=group, bits=bits)
                    w32 = np.array(wm.astype(mx.float32))
                    tc, ts, tb = trueq_quantize(w32, bits, group)
                    ts_r = np.array(mx.array(ts).astype(dt).astype(mx.float32))
                    tb_r = np.array(mx.array(tb).astype(dt).astype(mx.float32))
                    rs32 = np.array(rs.astype(mx.float32))
                    rb32 = np.array(rb.astype(mx.float32))
                    bad = []
                    if np.array(rq).tobytes() != tc.tobytes():
                        bad.append("codes differ (%d words)" % int((np.array(rq) != tc).sum()))
                    if ts_r.tobytes() != rs32.tobytes():
                        bad.append("scales differ")
                    if tb_r.tobytes() != rb32.tobytes():
                        bad.append("biases differ")
                    # mlx's decode in the weight dtype rounds twice, T(T(s*q) + b);
                    # trueq decodes in float32: compare with mlx's float32 decode of the
                    # same (widened) scales and biases, and check the double rounding
                    rd = np.array(mx.dequantize(rq, mx.array(rs32), mx.array(rb32), group_size=group, bits=bits))
                    td = trueq_dequantize(np.array(rq), rs32, rb32, bits, group)
                    if td.tobytes() != rd.tobytes():
                        bad.append("decode differs (%d values, max %g)" % (int((td != rd).sum()),
                                                                          float(np.abs(td - rd).max())))
                    md = np.array(mx.dequantize(rq, rs, rb, group_size=group, bits=bits).astype(mx.float32))
                    gs = np.repeat(rs32, group, axis=1)
                    gb = np.repeat(rb32, group, axis=1)
                    q = np.where(gs != 0, (td - gb) / np.where(gs != 0, gs, 1), 0).round()
                    r = lambda x: np.array(mx.array(x.astype(np.float32)).astype(dt).astype(mx.float32))  # noqa: E731
                    td_r = r(r(gs * q) + gb)
                    if td_r.tobytes() != md.tobytes():
                        bad.append("%s decode differs (%d values)" % (dname, int((td_r != md).sum())))
                    if bad:
                        failed += 1
                        print("FAIL", tag, "; ".join(bad))
                    else:
                        passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
