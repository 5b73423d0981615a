#!/usr/bin/python3
"""Regenerate the seed corpus fuzz/corpus/npz/ for fuzz/fuzz_npz.c.

Run with Debian's python3 (needs numpy):  /usr/bin/python3 tests/py/gen_npz_corpus.py
Writes valid archives (np.savez, np.savez_compressed, streamed with data
descriptors, a trueq-style metadata member, a ZIP64 end record) and corrupt
variants of them (truncations, flipped CRC, bad signatures, broken .npy
headers). Output is deterministic: zip timestamps are numpy's fixed 1980 date.
"""
import io
import os
import struct
import sys
import zipfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "fuzz", "corpus", "npz")


class Unseekable(io.RawIOBase):
    def __init__(self, f):
        self.f = f
    def writable(self):
        return True
    def write(self, b):
        return self.f.write(b)


def savez(compressed=False, stream=False, **arrays):
    b = io.BytesIO()
    fn = np.savez_compressed if compressed else np.savez
    fn(Unseekable(b) if stream else b, **arrays)
    return b.getvalue()


def npy(dict_text, data=b"", major=1):
    h = dict_text.encode("latin-1")
    fmt = "<H" if major == 1 else "<I"
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack(fmt, len(h)) + h + data


def zip_of(members, zip64_end=False, align=False):
    """members: list of (name, bytes, method). Minimal hand-built archive;
    align=True adds trueq's alignment extra field (id 0xD935) so data starts at 64."""
    out, cd = b"", b""
    for name, data, method in members:
        payload = data
        if method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = c.compress(data) + c.flush()
        crc = zlib.crc32(data)
        nm = name.encode()
        off = len(out)
        extra = b""
        if align:
            pad = (64 - (off + 30 + len(nm)) % 64) % 64
            if 0 < pad < 6:
                pad += 64
            if pad:
                extra = struct.pack("<HHH", 0xD935, pad - 4, 64) + bytes(pad - 6)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(payload), len(data), len(nm),
                           len(extra)) + nm + extra + payload
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 20, 0, method, 0, 0x21, crc, len(payload), len(data),
                          len(nm), 0, 0, 0, 0, 0, off) + nm
    cd_off = len(out)
    out += cd
    n = len(members)
    if zip64_end:
        z = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x032D, 45, 0, 0, n, n, len(cd), cd_off)
        out += struct.pack("<IIQI", 0x07064B50, 0, z, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_off, 0)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.unlink(os.path.join(OUT, f))
    f32 = np.array([1, 2, 3], dtype=np.float32)
    mixed = dict(i8=np.arange(-3, 3, dtype=np.int8).reshape(2, 3), f16=np.array([0.5, -2], dtype=np.float16),
                 s=np.float64(2.5), e=np.zeros((0,), np.uint8))
    seeds = {
        "kat268.npz": savez(w=f32),
        "mixed_stored.npz": savez(**mixed),
        "mixed_deflate.npz": savez(compressed=True, **mixed),
        "stream_stored.npz": savez(stream=True, **mixed),
        "stream_deflate.npz": savez(compressed=True, stream=True, **mixed),
        "empty.npz": savez(),
    }
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
    f32b = f32.tobytes()
    u2 = np.array([0x3F80, 0xC000], np.uint16).tobytes()
    meta = b'{"format": "pt", "trueq.npz.dtype.h": "BF16"}'
    seeds["meta_bf16.npz"] = zip_of([("w.npy", npy(d, f32b), 0),
                                     ("h.npy", npy("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", u2), 0),
                                     ("__trueq__.json", meta, 8)])
    seeds["aligned.npz"] = zip_of([("w.npy", npy(d + " " * 60 + "\n", f32b), 0), ("__trueq__.json", b'{"format": "pt"}', 0)],
                                  align=True)
    seeds["zip64_end.npz"] = zip_of([("w.npy", npy(d, f32b), 0)], zip64_end=True)
    seeds["npy_v2.npz"] = zip_of([("w.npy", npy(d, f32b, 2), 0)])
    seeds["npy_v3_dq.npz"] = zip_of([("w.npy", npy('{"shape": (3,), "descr": "<f4", "fortran_order": False,}', f32b, 3), 0)])
    # corrupt variants
    k = seeds["kat268.npz"]
    def patch(b, off, new):
        return b[:off] + new + b[off + len(new):]
    bad = {
        "bad_truncated.npz": k[:200],
        "bad_crc.npz": patch(k, 190, b"\x41"),
        "bad_cd_sig.npz": patch(k, 195, b"X"),
        "bad_cd_offset.npz": patch(k, 246 + 16, struct.pack("<I", 1000)),
        "bad_count.npz": patch(k, 246 + 8, struct.pack("<HH", 9, 9)),
        "bad_method.npz": patch(patch(k, 8, b"\x0c\x00"), 195 + 10, b"\x0c\x00"),
        "bad_lho.npz": patch(k, 195 + 42, struct.pack("<I", 0xFFFFFFFF)),
        "bad_sizes.npz": patch(k, 195 + 20, struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFF0)),
        "bad_comment.npz": patch(k, 246 + 20, b"\xff\xff"),
        "bad_npy_shape.npz": zip_of([("w.npy", npy(d.replace("(3,)", "(4,)"), f32b), 0)]),
        "bad_npy_dict.npz": zip_of([("w.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,", f32b), 0)]),
        "bad_npy_bigendian.npz": zip_of([("w.npy", npy(d.replace("<f4", ">f4"), f32b), 8)]),
        "bad_npy_object.npz": zip_of([("w.npy", npy(d.replace("<f4", "|O"), f32b), 0)]),
        "bad_dup.npz": zip_of([("w.npy", npy(d, f32b), 0), ("w.npy", npy(d, f32b), 8)]),
        "bad_member.npz": zip_of([("w.npy", npy(d, f32b), 0), ("x.txt", b"hello", 0)]),
        "bad_meta.npz": zip_of([("__trueq__.json", b'{"a": 1}', 0)]),
        "bad_deflate.npz": patch(seeds["mixed_deflate.npz"], 30 + 6 + 20, b"\xff\xff"),
        "bad_zip64_loc.npz": patch(seeds["zip64_end.npz"], len(seeds["zip64_end.npz"]) - 22 - 20 + 8, struct.pack("<Q", 7)),
    }
    seeds.update(bad)
    total = 0
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("wrote %d seeds, %d bytes, to %s" % (len(seeds), total, os.path.normpath(OUT)))


if __name__ == "__main__":
    sys.exit(main())
