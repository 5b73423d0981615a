#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_gguf.c: small GGUF files (< 2 KB), valid
ones (the FORMATS.md 2.6 layout, v2, custom alignment, every value type,
string arrays, no tensors, one block of each ggml type trueq decodes) and
near-misses (one fault each, as in tests/test_gguf.c). Standard library only;
deterministic output.
usage: tests/gen/gen_gguf_corpus.py fuzz/corpus/gguf"""
import os, random, struct, sys

# ggml types: id -> (block elements, bytes per block)
TYPES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
         10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
         20: (32, 18), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 30: (1, 2), 34: (256, 54),
         35: (256, 66), 16: (256, 66)}
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)


def s(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<Q", len(b)) + b


def val(t, v):
    if t == STR:
        return s(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(val(et, x) for x in items)
    return struct.pack({U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B",
                        U64: "<Q", I64: "<q", F64: "<d"}[t], v)


def gguf(kvs, tensors, version=3, align=32, nt=None, nkv=None, offsets=None, pad_last=True, raw_kv=None):
    """kvs: [(key, type, value)]; tensors: [(name, ggml type, dims (ne order), data bytes)]"""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors) if nt is None else nt, len(kvs) if nkv is None else nkv)
    for k, t, v in kvs:
        out += s(k) + struct.pack("<I", t) + val(t, v)
    if raw_kv:
        out += raw_kv
    offs, off = [], 0
    for _, _, _, data in tensors:
        offs.append(off)
        off += (len(data) + align - 1) // align * align
    if offsets is not None:
        offs = offsets
    for (name, ty, dims, _), o in zip(tensors, offs):
        out += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d & (2**64 - 1)) for d in dims)
        out += struct.pack("<IQ", ty & 0xFFFFFFFF, o)
    out += b"\0" * (-len(out) % align)
    for i, (_, _, _, data) in enumerate(tensors):
        out += data
        if pad_last or i + 1 < len(tensors):
            out += b"\0" * (-len(out) % align)
    return out


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    rnd = random.Random(10)
    arch = ("general.architecture", STR, "llama")
    f32 = lambda *v: struct.pack("<%df" % len(v), *v)
    q8 = bytes(rnd.randrange(256) for _ in range(68))
    q8 = b"\x00\x3c" + q8[2:34] + b"\x00\x38" + q8[36:]
    base_t = [("blk.0.attn_q.weight", 8, [32, 2], q8), ("output_norm.weight", 0, [4], f32(1, 2, 3, 4))]
    base_kv = [arch, ("general.name", STR, "tiny"), ("general.file_type", U32, 7),
               ("general.quantization_version", U32, 2)]
    files = {
        "kat": gguf(base_kv, base_t),
        "v2": gguf(base_kv, base_t, version=2),
        "align64": gguf([arch, ("general.alignment", U32, 64)], base_t, align=64),
        "align8": gguf([arch, ("general.alignment", U32, 8)], base_t, align=8),
        "no_tensors": gguf(base_kv, []),
        "no_tensors_unpadded": gguf(base_kv, [], align=1),
        "last_unpadded": gguf(base_kv, base_t, pad_last=False),
        "all_values": gguf([arch, ("a.u8", U8, 255), ("a.i8", I8, -128), ("a.u16", U16, 65535), ("a.i16", I16, -1),
                            ("a.u32", U32, 2**32 - 1), ("a.i32", I32, -(2**31)), ("a.f32", F32, 0.5),
                            ("a.bool", BOOL, 1), ("a.u64", U64, 2**64 - 1), ("a.i64", I64, -(2**63)),
                            ("a.f64", F64, -1e300), ("a.s", STR, "h\u00e9llo"), ("a.empty", STR, ""),
                            ("a.arr_i32", ARR, (I32, [1, -2, 3])), ("a.arr_str", ARR, (STR, ["a", "bc", ""])),
                            ("a.arr_bool", ARR, (BOOL, [0, 1])), ("a.arr_none", ARR, (F64, []))], base_t[1:]),
    }
    for ty, (bs, ts) in sorted(TYPES.items()):
        n = bs if bs > 1 else 16
        data = bytes(rnd.randrange(256) for _ in range(n // bs * ts))
        files["type_%d" % ty] = gguf([arch], [("t", ty, [n, 1], data)])
    bad = {
        "bad_magic": b"GGUX" + files["kat"][4:],
        "bad_version1": gguf(base_kv, base_t, version=1),
        "bad_version4": gguf(base_kv, base_t, version=4),
        "bad_version_be": gguf(base_kv, base_t, version=0x03000000),
        "bad_nkv_huge": gguf(base_kv, base_t, nkv=2**40),
        "bad_nt_huge": gguf(base_kv, base_t, nt=2**40),
        "bad_nt_neg": gguf(base_kv, base_t, nt=2**63 + 1),
        "bad_kv_type": gguf(base_kv, base_t, nkv=5, raw_kv=s("x") + struct.pack("<I", 13)),
        "bad_nested": gguf(base_kv, base_t, nkv=5, raw_kv=s("x") + struct.pack("<IIQIQ", ARR, ARR, 1, U8, 0)),
        "bad_arr_count": gguf(base_kv, base_t, nkv=5, raw_kv=s("x") + struct.pack("<IIQ", ARR, U8, 2**31)),
        "bad_str_len": gguf(base_kv, base_t, nkv=5, raw_kv=struct.pack("<Q", 10**6) + b"x"),
        "bad_empty_key": gguf(base_kv + [("", U8, 1)], base_t),
        "bad_dup_key": gguf(base_kv + [("general.name", STR, "again")], base_t),
        "bad_bool": gguf(base_kv + [("b", BOOL, 2)], base_t),
        "bad_align0": gguf([arch, ("general.alignment", U32, 0)], base_t),
        "bad_align3": gguf([arch, ("general.alignment", U32, 3)], base_t),
        "bad_align_type": gguf([arch, ("general.alignment", I32, 32)], base_t),
        "bad_align_mismatch": gguf([arch, ("general.alignment", U32, 64)], base_t, align=32),
        "bad_dup_tensor": gguf([arch], [base_t[1], base_t[1]]),
        "bad_name_long": gguf([arch], [("n" * 64, 0, [4], f32(1, 2, 3, 4))]),
        "bad_ndim0": gguf([arch], [("t", 0, [], f32(1))]),
        "bad_ndim5": gguf([arch], [("t", 0, [1, 1, 1, 1, 1], f32(1))]),
        "bad_dim0": gguf([arch], [("t", 0, [4, 0], b"")]),
        "bad_dim_neg": gguf([arch], [("t", 0, [4, -1], f32(1, 2, 3, 4))]),
        "bad_overflow": gguf([arch], [("t", 0, [2**40, 2**40], f32(1))]),
        "bad_type4": gguf([arch], [("t", 4, [32], bytes(20))]),
        "bad_type99": gguf([arch], [("t", 99, [32], bytes(20))]),
        "bad_block": gguf([arch], [("t", 8, [33], bytes(34))]),
        "bad_unaligned": gguf([arch], base_t, offsets=[0, 97]),
        "bad_past_end": gguf([arch], base_t, offsets=[0, 2**20]),
        "bad_overlap": gguf([arch], base_t, offsets=[0, 64]),
        "bad_gap": gguf([arch], base_t, offsets=[32, 128]),
        "bad_truncated": files["kat"][:300],
        "bad_truncated_data": files["kat"][:0x1a0 + 8],
    }
    files.update(bad)
    for name, data in files.items():
        assert len(data) < 2048, (name, len(data))
        with open(os.path.join(outdir, name + ".gguf"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/gguf")
