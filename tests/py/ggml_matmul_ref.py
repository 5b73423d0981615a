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

and writes, per type, OUTDIR/T.bin: a little-endian header of int32
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
        print("%-5s vec_dot_type %2d: %d x %d weights, %d activation rows" % (name, vt, ROWS, COLS, x.shape[0]))


if __name__ == "__main__":
    main()
