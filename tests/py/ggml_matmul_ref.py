"""ggml's own matrix x vector products, the ground truth of tests/test_kern_vs_ggml.c.

usage: ggml_matmul_ref.py OUTDIR [LIBDIR]

Loads ggml's CPU library as llama-cpp-python ships it (LIBDIR, else
llama_cpp/lib of the running interpreter: libggml-base.so and
libggml-cpu.so) and, through ctypes, does for every weight type T of TYPES
what ggml's mul_mat does for one row of activations (ggml-cpu.c: the row is
converted by from_float of T's vec_dot_type, then vec_dot per weight row):

  W  = ggml_quantize_chunk(T, random float32 [ROWS, COLS])   (the stored blocks)
  A  = from_float(vec_dot_type(T))(x) for each activation row x of X [N, COLS]
  Y[i, r] = vec_dot(T)(COLS, W[r], A[i])

For the types llama.cpp's x86 CPU backend multiplies by other code than
vec_dot (GRAPH: Q4_0 and Q4_K are repacked into Q4_0x8 / Q4_Kx8 blocks where
the rows are a multiple of 8, and every type of a batch goes to tinyBLAS
first), it also builds ggml's own graph, one MUL_MAT on the CPU backend at
one thread with the weights in the CPU_REPACK buffer (as llama.cpp loads
them), over the same float32 W source and X, once for the whole batch and
once per row (llama.cpp's one-batch and token-by-token modes), and writes
OUTDIR/T.mm.bin: int32 (N, ROWS) then the batch's Y and the rows' Y
(float32 [N, ROWS] each).

It also writes OUTDIR/ops.bin: ggml's RMSNorm (times a gain) and RoPE on
the CPU backend (graph_ops), for src/nn/ops/ggml_ops.h.

It writes, per type, OUTDIR/T.bin: a little-endian header of int32
(ggml type, vec_dot type, ROWS, COLS, N, bytes of W, bytes of A) followed by
W, X (float32), A and Y (float32). The activation rows include ties (values
exactly half way between two codes), a zero row, outliers and negative
maxima, so the rounding rules are exercised.
"""
import ctypes, os, struct, sys
import numpy as np

TYPES = {"Q8_0": 8, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14,
         "F16": 1, "BF16": 30}
ROWS, COLS = 8, 512


class TraitsCpu(ctypes.Structure):   # ggml-cpu.h: struct ggml_type_traits_cpu
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p), ("vec_dot_type", ctypes.c_int),
                ("nrows", ctypes.c_int64)]


FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                           ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def activations(rng):
    x = [rng.standard_normal(COLS).astype(np.float32),
         (rng.standard_normal(COLS) * 20).astype(np.float32),
         np.zeros(COLS, np.float32)]
    t = rng.standard_normal(COLS).astype(np.float32)
    t[::37] *= 40                       # outliers: block maxima far above the rest
    t[5::64] = -np.abs(t).max() * 1.5   # negative maxima
    x.append(t)
    # ties: in every block of 32, max 127 and values k + 0.5, so x * 127 / max is
    # exactly half way (ggml rounds half to even)
    tie = (rng.integers(-120, 120, COLS) + 0.5).astype(np.float32)
    tie[::32] = 127.0
    x.append(tie)
    return np.ascontiguousarray(np.stack(x))


GRAPH = ("Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q6_K")


class InitParams(ctypes.Structure):   # ggml.h: struct ggml_init_params
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p), ("no_alloc", ctypes.c_bool)]


def graph_api(base, cpu):
    vp, i64 = ctypes.c_void_p, ctypes.c_int64
    for lib, name, res, args in [
            (base, "ggml_init", vp, [InitParams]), (base, "ggml_free", None, [vp]),
            (base, "ggml_new_tensor_2d", vp, [vp, ctypes.c_int, i64, i64]), (base, "ggml_mul_mat", vp, [vp, vp, vp]),
            (base, "ggml_new_graph", vp, [vp]), (base, "ggml_build_forward_expand", None, [vp, vp]),
            (base, "ggml_backend_alloc_ctx_tensors_from_buft", vp, [vp, vp]), (base, "ggml_backend_buffer_free", None, [vp]),
            (base, "ggml_backend_tensor_set", None, [vp, vp, ctypes.c_size_t, ctypes.c_size_t]),
            (base, "ggml_backend_tensor_get", None, [vp, vp, ctypes.c_size_t, ctypes.c_size_t]),
            (base, "ggml_backend_graph_compute", ctypes.c_int, [vp, vp]), (base, "ggml_backend_free", None, [vp]),
            (cpu, "ggml_backend_cpu_init", vp, []), (cpu, "ggml_backend_cpu_set_n_threads", None, [vp, ctypes.c_int]),
            (cpu, "ggml_backend_cpu_buffer_type", vp, []),
            (cpu, "_Z35ggml_backend_cpu_repack_buffer_typev", vp, [])]:
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return base, cpu


def graph_mul_mat(api, t, wsrc, x):
    """ggml's MUL_MAT of float32 rows x by wsrc quantized to type t in ggml's
    CPU_REPACK buffer where llama.cpp puts it, else the plain CPU buffer."""
    base, cpu = api
    rows, cols = wsrc.shape
    n = x.shape[0]
    ctx_w = base.ggml_init(InitParams(1 << 20, None, True))
    ctx_g = base.ggml_init(InitParams(1 << 22, None, True))
    wt = base.ggml_new_tensor_2d(ctx_w, t, cols, rows)
    xt = base.ggml_new_tensor_2d(ctx_g, 0, cols, n)
    yt = base.ggml_mul_mat(ctx_g, wt, xt)
    gf = base.ggml_new_graph(ctx_g)
    base.ggml_build_forward_expand(gf, yt)
    # llama.cpp places a weight in CPU_REPACK only where ggml repacks its type
    # (Q4_0, Q4_K on AVX2 with rows % 8 == 0); a tensor there that it does not
    # repack has no traits
    rep = t in (2, 12) and rows % 8 == 0
    bw = base.ggml_backend_alloc_ctx_tensors_from_buft(
        ctx_w, cpu._Z35ggml_backend_cpu_repack_buffer_typev() if rep else cpu.ggml_backend_cpu_buffer_type())
    bg = base.ggml_backend_alloc_ctx_tensors_from_buft(ctx_g, cpu.ggml_backend_cpu_buffer_type())
    assert bw and bg
    wq = np.zeros(base.ggml_row_size(t, cols) * rows, np.uint8)
    base.ggml_quantize_chunk(t, wsrc.ctypes.data, wq.ctypes.data, 0, rows, cols, None)
    base.ggml_backend_tensor_set(wt, wq.ctypes.data, 0, wq.size)   # the repack happens here
    xc = np.ascontiguousarray(x, np.float32)
    base.ggml_backend_tensor_set(xt, xc.ctypes.data, 0, xc.nbytes)
    be = cpu.ggml_backend_cpu_init()
    cpu.ggml_backend_cpu_set_n_threads(be, 1)
    assert base.ggml_backend_graph_compute(be, gf) == 0
    y = np.zeros((n, rows), np.float32)
    base.ggml_backend_tensor_get(yt, y.ctypes.data, 0, y.nbytes)
    base.ggml_backend_free(be)
    base.ggml_backend_buffer_free(bg)
    base.ggml_backend_buffer_free(bw)
    base.ggml_free(ctx_g)
    base.ggml_free(ctx_w)
    return y


# the decoder ops of tq_llama_*_ggml (src/nn/ops/ggml_ops.h): SmolLM2's shape
OPS_D, OPS_N, OPS_HS, OPS_H, OPS_EPS, OPS_THETA = 576, 4, 64, 9, 1e-5, 100000.0
OPS_POS = [0, 1, 7, 100, 511]
OPS_SW = 1541   # SwiGLU width: 192 vectors of 8 and a tail of 5


def graph_ops(api, rng):
    """ggml_rms_norm then ggml_mul, ggml_rope_ext (mode 0, no YaRN) and
    ggml_swiglu_split, on the
    CPU backend at one thread: OUTDIR/ops.bin (see main)."""
    base, cpu = api
    vp, i64, f = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float
    for name, res, args in [("ggml_rms_norm", vp, [vp, vp, f]), ("ggml_mul", vp, [vp, vp, vp]),
                            ("ggml_swiglu_split", vp, [vp, vp, vp]),
                            ("ggml_new_tensor_1d", vp, [vp, ctypes.c_int, i64]),
                            ("ggml_new_tensor_3d", vp, [vp, ctypes.c_int, i64, i64, i64]),
                            ("ggml_rope_ext", vp, [vp, vp, vp, vp, ctypes.c_int, ctypes.c_int, ctypes.c_int, f, f, f, f,
                                                   f, f])]:
        fn = getattr(base, name)
        fn.restype, fn.argtypes = res, args
    x = (rng.standard_normal((OPS_N, OPS_D)) * np.array([1, 3, 0.01, 30])[:, None]).astype(np.float32)
    w = (1 + rng.standard_normal(OPS_D) * 0.5).astype(np.float32)
    npos = len(OPS_POS)
    r = (rng.standard_normal((npos, OPS_H, OPS_HS)) * 4).astype(np.float32)
    pos = np.array(OPS_POS, np.int32)
    # SwiGLU gate and up rows: ordinary values, large ones (e^-x beyond
    # 2^126 and 2^192: ggml's two scaled branches) and a tail past the multiple of 8
    gate = (rng.standard_normal((OPS_N, OPS_SW)) * np.array([1, 4, 30, 120])[:, None]).astype(np.float32)
    up = rng.standard_normal((OPS_N, OPS_SW)).astype(np.float32)
    ctx = base.ggml_init(InitParams(1 << 22, None, True))
    xt = base.ggml_new_tensor_2d(ctx, 0, OPS_D, OPS_N)
    wt = base.ggml_new_tensor_1d(ctx, 0, OPS_D)
    yt = base.ggml_mul(ctx, base.ggml_rms_norm(ctx, xt, OPS_EPS), wt)
    rt = base.ggml_new_tensor_3d(ctx, 0, OPS_HS, OPS_H, npos)
    pt = base.ggml_new_tensor_1d(ctx, 26, npos)
    ot = base.ggml_rope_ext(ctx, rt, pt, None, OPS_HS, 0, 0, OPS_THETA, 1.0, 0.0, 1.0, 32.0, 1.0)
    gt = base.ggml_new_tensor_2d(ctx, 0, OPS_SW, OPS_N)
    ut = base.ggml_new_tensor_2d(ctx, 0, OPS_SW, OPS_N)
    st = base.ggml_swiglu_split(ctx, gt, ut)
    gf = base.ggml_new_graph(ctx)
    base.ggml_build_forward_expand(gf, yt)
    base.ggml_build_forward_expand(gf, ot)
    base.ggml_build_forward_expand(gf, st)
    buf = base.ggml_backend_alloc_ctx_tensors_from_buft(ctx, cpu.ggml_backend_cpu_buffer_type())
    for t, a in ((xt, x), (wt, w), (rt, r), (pt, pos), (gt, gate), (ut, up)):
        base.ggml_backend_tensor_set(t, a.ctypes.data, 0, a.nbytes)
    be = cpu.ggml_backend_cpu_init()
    cpu.ggml_backend_cpu_set_n_threads(be, 1)
    assert base.ggml_backend_graph_compute(be, gf) == 0
    y, o = np.zeros_like(x), np.zeros_like(r)
    base.ggml_backend_tensor_get(yt, y.ctypes.data, 0, y.nbytes)
    base.ggml_backend_tensor_get(ot, o.ctypes.data, 0, o.nbytes)
    sw = np.zeros_like(gate)
    base.ggml_backend_tensor_get(st, sw.ctypes.data, 0, sw.nbytes)
    base.ggml_backend_free(be)
    base.ggml_backend_buffer_free(buf)
    base.ggml_free(ctx)
    return x, w, y, r, pos, o, gate, up, sw


def main():
    out = sys.argv[1]
    libdir = sys.argv[2] if len(sys.argv) > 2 else None
    if not libdir:
        import llama_cpp
        libdir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    base = ctypes.CDLL(os.path.join(libdir, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
    cpu = ctypes.CDLL(os.path.join(libdir, "libggml-cpu.so"), mode=ctypes.RTLD_GLOBAL)
    cpu.ggml_cpu_init.restype = None
    cpu.ggml_cpu_init()
    cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(TraitsCpu)
    cpu.ggml_get_type_traits_cpu.argtypes = [ctypes.c_int]
    base.ggml_row_size.restype = ctypes.c_size_t
    base.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
    base.ggml_quantize_chunk.restype = ctypes.c_size_t
    base.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                         ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    rng = np.random.default_rng(20261203)
    # ops.bin: int32 D, N, head size, heads, positions; float32 eps, theta;
    # X [N, D], W [D], Y [N, D]; positions (int32); R, RoPE(R) [positions, heads, head size]
    x, w, y, r, pos, o, gate, up, sw = graph_ops(graph_api(base, cpu), np.random.default_rng(10))
    with open(os.path.join(out, "ops.bin"), "wb") as f:
        f.write(struct.pack("<5i2f", OPS_D, OPS_N, OPS_HS, OPS_H, len(OPS_POS), OPS_EPS, OPS_THETA))
        for part in (x, w, y, pos, r, o):
            f.write(part.tobytes())
        f.write(struct.pack("<i", OPS_SW))
        for part in (gate, up, sw):   # SwiGLU: gate, up, ggml_swiglu_split [N, OPS_SW]
            f.write(part.tobytes())
    print("ops   ggml_rms_norm * w and ggml_rope_ext: %d rows, %d positions" % (OPS_N, len(OPS_POS)))
    for name, t in TYPES.items():
        tr = cpu.ggml_get_type_traits_cpu(t).contents
        vt = tr.vec_dot_type
        vtr = cpu.ggml_get_type_traits_cpu(vt).contents
        wsrc = (rng.standard_normal((ROWS, COLS)) * (1 + np.arange(ROWS)[:, None] % 3)).astype(np.float32)
        wrow = base.ggml_row_size(t, COLS)
        w = np.zeros(ROWS * wrow, np.uint8)
        n = base.ggml_quantize_chunk(t, wsrc.ctypes.data, w.ctypes.data, 0, ROWS, COLS, None)
        assert n == w.size, (name, n, w.size)
        x = activations(rng)
        arow = base.ggml_row_size(vt, COLS)
        a = np.zeros((x.shape[0], arow), np.uint8)
        ff = FROM_FLOAT(vtr.from_float)
        for i in range(x.shape[0]):
            ff(x[i].ctypes.data, a[i].ctypes.data, COLS)
        dot = VEC_DOT(tr.vec_dot)
        y = np.zeros((x.shape[0], ROWS), np.float32)
        s = ctypes.c_float()
        for i in range(x.shape[0]):
            for r in range(ROWS):
                dot(COLS, ctypes.addressof(s), 0, w.ctypes.data + r * wrow, 0, a[i].ctypes.data, 0, 1)
                y[i, r] = s.value
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(struct.pack("<7i", t, vt, ROWS, COLS, x.shape[0], w.size, a.size))
            for part in (w, x, a, y):
                f.write(part.tobytes())
        if name in GRAPH:
            api = graph_api(base, cpu)
            yb = graph_mul_mat(api, t, wsrc, x)
            yr = np.concatenate([graph_mul_mat(api, t, wsrc, x[i:i + 1]) for i in range(x.shape[0])])
            with open(os.path.join(out, name + ".mm.bin"), "wb") as f:
                f.write(struct.pack("<2i", x.shape[0], ROWS))
                f.write(yb.tobytes())
                f.write(yr.tobytes())
            print("%-5s ggml MUL_MAT graph: batch == rows %s, batch == vec_dot %s" %
                  (name, np.array_equal(yb, yr), np.array_equal(yb, y)))
        print("%-5s vec_dot_type %2d: %d x %d weights, %d activation rows" % (name, vt, ROWS, COLS, x.shape[0]))


if __name__ == "__main__":
    main()
