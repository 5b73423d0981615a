#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_format.c: one small file per kind the
format table recognises (GGUF header, torch.save-style zip with
archive/data.pkl, pickles of protocol 2 and 4, the legacy torch.save magic,
safetensors, npz, an empty zip) and near-misses (a zip cut short, a GGUF magic
alone, random bytes, an empty file). Standard library only; deterministic.
usage: tests/gen/gen_format_corpus.py fuzz/corpus/format"""
import io, os, random, struct, sys, zipfile


def zip_of(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(zi, data)
    return b.getvalue()


def npy_u8(values):
    text = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d,), }" % len(values)
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + bytes(values)


def safetensors_u8():
    h = b'{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}'
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"\x07\x09"


def main(out):
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(7)
    torch = zip_of([("archive/data.pkl", b"\x80\x02}q\x00."), ("archive/byteorder", b"little"),
                    ("archive/data/0", b"\x00\x00\x80\x3f"), ("archive/version", b"3\n")])
    seeds = {
        "gguf_v3": b"GGUF" + struct.pack("<IQQ", 3, 0, 0),
        "gguf_magic_only": b"GGUF",
        "torch_zip": torch,
        "torch_zip_cut": torch[:len(torch) - 30],
        "pickle_p2": b"\x80\x02]q\x00.",
        "pickle_p4_frame": b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00]\x94.",
        "pickle_legacy_torch": b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.",
        "safetensors": safetensors_u8(),
        "safetensors_cut": safetensors_u8()[:20],
        "npz": zip_of([("w.npy", npy_u8([1, 2, 3]))]),
        "npz_empty": zip_of([]),
        "zip_other": zip_of([("readme.txt", b"hello")]),
        "random": bytes(rnd.randrange(256) for _ in range(64)),
        "empty": b"",
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/format")
