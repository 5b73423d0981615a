#!/usr/bin/python3
"""numpy conformance helper for tests/test_npz.c (run with Debian's /usr/bin/python3).

  npz_numpy.py probe
      exit 0 when numpy imports, 77 otherwise.
  npz_numpy.py make DIR
      write .npz files with np.savez / np.savez_compressed (and through an
      unseekable stream, which makes zipfile emit data descriptors) into DIR,
      plus DIR/manifest.txt with one line per array:
          FILE NAME TQ_DTYPE NDIM D0 D1 ...
      and the raw C-order bytes of every array in DIR/FILE.NAME.bin.
      The TQ_DTYPE column is this script's own numpy -> trueq dtype mapping.
  npz_numpy.py check FILE SPEC
      load FILE (written by trueq's writer) with np.load and compare every
      array with the values SPEC describes; SPEC is lines
          NAME TQ_DTYPE NDIM D0 D1 ...
      and the metadata line  META {json object}  (the expected __trueq__.json).
      Values follow the formula shared with test_npz.c (see expected()).
      Prints "OK <n> arrays" on success.
"""
import io
import json
import os
import sys
import zipfile

try:
    import numpy as np
except ImportError:
    np = None

TQ_OF = {  # numpy dtype -> trueq dtype name (independent of libtrueq's table)
    "int8": "I8", "uint8": "U8", "bool": "BOOL", "int16": "I16", "uint16": "U16",
    "float16": "F16", "int32": "I32", "uint32": "U32", "float32": "F32",
    "int64": "I64", "uint64": "U64", "float64": "F64", "complex64": "C64",
}


def base(n):
    """v_i = ((i*37 + 11) mod 251) - 125, the integer pattern both sides use."""
    i = np.arange(n, dtype=np.int64)
    return (i * 37 + 11) % 251 - 125


def expected(tq, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    v = base(n)
    if tq == "I8": a = v.astype(np.int8)
    elif tq == "U8": a = (v + 125).astype(np.uint8)
    elif tq == "BOOL": a = (v % 2 != 0)
    elif tq == "I16": a = (v * 100).astype(np.int16)
    elif tq == "U16": a = (v + 125).astype(np.uint16) * 200
    elif tq == "I32": a = (v * 100000).astype(np.int32)
    elif tq == "U32": a = ((v + 125) * 10000000).astype(np.uint32)
    elif tq == "I64": a = v * 1000000000000
    elif tq == "U64": a = (v + 125).astype(np.uint64) * np.uint64(10**15)
    elif tq == "F16": a = (v.astype(np.float64) / 8).astype(np.float16)
    elif tq == "F32": a = (v.astype(np.float64) / 8 + 0.25).astype(np.float32)
    elif tq == "F64": a = v.astype(np.float64) / 3
    elif tq == "C64": a = (v.astype(np.float32) / 4 + 1j * (v.astype(np.float32) / 2)).astype(np.complex64)
    elif tq == "BF16":  # top 16 bits of the float32 v/8 (exact: v/8 has few bits)
        a = ((v.astype(np.float64) / 8).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    elif tq == "F8_E4M3":
        a = (v + 125).astype(np.uint8)
    else:
        raise SystemExit("unknown dtype " + tq)
    return a.reshape(shape)


def numpy_dtype_of(tq):
    return {"BF16": "uint16", "F8_E4M3": "uint8"}.get(tq) or [k for k, x in TQ_OF.items() if x == tq][0]


def check(path, spec):
    want_meta = None
    arrays = []
    for line in open(spec, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        if line.startswith("META "):
            want_meta = json.loads(line[5:])
            continue
        f = line.split()
        arrays.append((f[0], f[1], tuple(int(x) for x in f[3:3 + int(f[2])])))
    with zipfile.ZipFile(path) as zf:
        bad = zf.testzip()  # reads every member and checks its CRC-32
        if bad is not None:
            raise SystemExit("CRC error in member " + bad)
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise SystemExit("member %s is not stored" % info.filename)
        got_meta = json.loads(zf.read("__trueq__.json")) if "__trueq__.json" in zf.namelist() else None
        names = [i.filename for i in zf.infolist()]
    if got_meta != want_meta:
        raise SystemExit("metadata: got %r want %r" % (got_meta, want_meta))
    want_names = [a[0] + ".npy" for a in arrays] + (["__trueq__.json"] if want_meta is not None else [])
    if names != want_names:
        raise SystemExit("member order: got %r want %r" % (names[:5], want_names[:5]))
    with np.load(path, allow_pickle=False) as z:
        for name, tq, shape in arrays:
            a = z[name]
            e = expected(tq, shape)
            if a.dtype != np.dtype(numpy_dtype_of(tq)):
                raise SystemExit("%s: dtype %s, want %s" % (name, a.dtype, numpy_dtype_of(tq)))
            if a.shape != shape:
                raise SystemExit("%s: shape %r, want %r" % (name, a.shape, shape))
            if not a.flags.c_contiguous or a.tobytes() != np.ascontiguousarray(e).tobytes():
                raise SystemExit("%s: values differ: %r vs %r" % (name, a.ravel()[:4], e.ravel()[:4]))
    print("OK %d arrays" % len(arrays))


class Unseekable(io.RawIOBase):
    """A write-only stream without tell/seek: zipfile then writes data descriptors."""
    def __init__(self, f):
        self.f = f
    def writable(self):
        return True
    def write(self, b):
        return self.f.write(b)


def make(d):
    rng = np.random.default_rng(1234)
    sets = {
        "mixed": {
            "i8": np.array([[-128, -1, 0], [1, 2, 127]], dtype=np.int8),
            "f32": rng.standard_normal((4, 5)).astype(np.float32),
            "f16": np.array([0.5, -2.0, 65504.0, 6e-08, np.inf], dtype=np.float16),
            "u8": np.arange(7, dtype=np.uint8) * 37,
            "scalar": np.float64(3.141592653589793),
            "empty": np.zeros((0,), dtype=np.float32),
            "empty2": np.zeros((3, 0), dtype=np.int8),
            "i64": np.array([-(2 ** 62), 2 ** 62 + 5], dtype=np.int64),
            "flag": np.array([True, False, True]),
            "layer.0/w": rng.standard_normal((3, 2)).astype(np.float64),
        },
        "positional": None,
    }
    manifest = []

    def record(fname, arrays):
        for name, a in arrays.items():
            a = np.asarray(a)
            manifest.append("%s %s %s %d %s" % (fname, name, TQ_OF[a.dtype.name], a.ndim,
                                                 " ".join(str(x) for x in a.shape)))
            with open(os.path.join(d, "%s.%s.bin" % (fname, name.replace("/", "_"))), "wb") as f:
                f.write(np.ascontiguousarray(a).tobytes())

    mixed = sets["mixed"]
    np.savez(os.path.join(d, "stored.npz"), **mixed)
    record("stored.npz", mixed)
    np.savez_compressed(os.path.join(d, "deflated.npz"), **mixed)
    record("deflated.npz", mixed)
    with open(os.path.join(d, "stream.npz"), "wb") as f:
        np.savez(Unseekable(f), **mixed)
    record("stream.npz", mixed)
    with open(os.path.join(d, "stream_z.npz"), "wb") as f:
        np.savez_compressed(Unseekable(f), **mixed)
    record("stream_z.npz", mixed)
    pos = [np.arange(6, dtype=np.int8).reshape(2, 3), np.float32(2.5)]
    np.savez(os.path.join(d, "positional.npz"), *pos)
    record("positional.npz", {"arr_0": pos[0], "arr_1": pos[1]})
    np.savez(os.path.join(d, "none.npz"))
    # the 268-byte archive of FORMATS.md 5.3
    np.savez(os.path.join(d, "kat268.npz"), w=np.array([1, 2, 3], dtype=np.float32))
    record("kat268.npz", {"w": np.array([1, 2, 3], dtype=np.float32)})
    with open(os.path.join(d, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print("OK wrote %d arrays" % len(manifest))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    if np is None:
        print("numpy is not importable by %s" % sys.executable)
        sys.exit(77)
    if sys.argv[1] == "probe":
        print("numpy", np.__version__)
    elif sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
