#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_safetensors.c: small safetensors files,
valid ones (every dtype, scalars, empty tensors, metadata, unpadded MLX-style
headers, JSON whitespace) and near-misses (one fault each, as in
tests/test_safetensors.c). Standard library only; deterministic output.
usage: tests/gen/gen_safetensors_corpus.py fuzz/corpus/safetensors"""
import json, os, struct, sys

DTYPES = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
          "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
          "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64}


def raw(header, data=b"", pad=True, n=None):
    """header: str or bytes, taken verbatim; padded with spaces to 8 unless pad is False."""
    h = header.encode() if isinstance(header, str) else header
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h) if n is None else n) + h + data


def st(tensors, meta=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes), stored in that order."""
    hdr, off, blob = {}, 0, b""
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dt, shape, data in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blob += data
    return raw(json.dumps(hdr, separators=(",", ":")), blob, pad)


def nbytes(dt, shape):
    n = 1
    for d in shape:
        n *= d
    return n * DTYPES[dt] // 8


def seq(k):
    return bytes((i * 37 + 11) & 0xFF for i in range(k))


def corpus():
    c = {}
    # valid
    c["ok_attn0"] = st([("attn.0", "F32", [1, 2, 3], struct.pack("<6f", 0, 1, 2, 3, 4, 5))])
    c["ok_empty_dict"] = raw("{}")
    c["ok_meta"] = raw('{"__metadata__":{"format":"pt","note":"caf\\u00e9"}}')
    c["ok_all_dtypes"] = st([("t." + dt, dt, [2, 4], seq(nbytes(dt, [2, 4]))) for dt in DTYPES], {"format": "pt"})
    c["ok_scalar"] = st([("s", "F32", [], struct.pack("<f", 1.5))])
    c["ok_zero_dim"] = st([("e", "F32", [2, 0], b""), ("x", "U8", [3], b"abc")])
    c["ok_ws"] = raw("\t\n{}\r ", pad=False)
    c["ok_unpadded"] = st([("a", "F16", [3], seq(6)), ("b", "I8", [1], b"\x80")], pad=False)
    c["ok_f4"] = st([("weight", "F4", [1, 2], b"\x21")])
    c["ok_f6"] = st([("w", "F6_E3M2", [4], seq(3))])
    c["ok_8dims"] = st([("d", "U8", [1, 1, 1, 1, 1, 1, 1, 2], b"xy")])
    c["ok_extra_field"] = raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":[1,{"y":null}]}}', b"z")
    c["ok_reordered"] = raw('{"b":{"data_offsets":[2,4],"shape":[2],"dtype":"U8"},'
                            '"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', b"abcd")
    c["ok_escapes"] = raw('{"\\u00e9\\ud83d\\ude00\\n\\"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"q")
    # framing faults
    c["bad_empty"] = b""
    c["bad_short"] = b"\x08\x00\x00"
    c["bad_huge_n"] = struct.pack("<Q", 0xFFFFFFFFFFFF0000) + b"{}      "
    c["bad_limit"] = struct.pack("<Q", 100000001)
    c["bad_past_eof"] = struct.pack("<Q", 60) + b"{}"
    c["bad_n_zero"] = struct.pack("<Q", 0)
    one = [("a", "U8", [4], b"abcd")]
    c["bad_truncated"] = st(one)[:-1]
    c["bad_trailing"] = st(one) + b"!"
    # encoding and JSON
    c["bad_utf8"] = raw(b'{"\xc3\x28":1}')
    c["bad_overlong"] = raw(b'{"\xc0\x80":1}')
    c["bad_surrogate"] = raw(b'{"\xed\xa0\x80":1}')
    c["bad_nul"] = raw(b"{}\x00")
    c["bad_esc_nul"] = raw('{"a\\u0000b":{}}')
    c["bad_bom"] = raw(b"\xef\xbb\xbf{}")
    c["bad_json"] = raw('{"a":}')
    c["bad_brace"] = raw("{", pad=False)
    c["bad_after"] = raw("{}x")
    c["bad_array"] = raw("[]")
    c["bad_deep"] = raw("[" * 1001 + "]" * 1001)
    c["bad_dup"] = raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                       '"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"xy")
    c["bad_dup_field"] = raw('{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}', b"x")
    # entries
    t = '{"a":{"dtype":%s,"shape":%s,"data_offsets":%s}}'
    c["bad_entry"] = raw('{"a":[1]}')
    c["bad_no_dtype"] = raw('{"a":{"shape":[1],"data_offsets":[0,1]}}', b"x")
    c["bad_dtype"] = raw(t % ('"F12"', "[1]", "[0,1]"), b"x")
    c["bad_shape_obj"] = raw(t % ('"U8"', "3", "[0,3]"), b"xyz")
    c["bad_shape_neg"] = raw(t % ('"U8"', "[2,-1]", "[0,1]"), b"x")
    c["bad_shape_frac"] = raw(t % ('"U8"', "[1.5]", "[0,1]"), b"x")
    c["bad_shape_huge"] = raw(t % ('"F32"', "[2,18446744073709551614]", "[0,4]"), b"abcd")
    c["bad_overflow"] = raw(t % ('"F32"', "[1099511627776,1099511627776]", "[0,4]"), b"abcd")
    c["bad_dims"] = raw(t % ('"U8"', "[1,1,1,1,1,1,1,1,1]", "[0,1]"), b"x")
    c["bad_offsets_one"] = raw(t % ('"U8"', "[1]", "[1]"), b"x")
    c["bad_offsets_str"] = raw(t % ('"U8"', "[1]", '["0","1"]'), b"x")
    c["bad_backward"] = raw(t % ('"U8"', "[1]", "[2,1]"), b"xy")
    c["bad_outside"] = raw(t % ('"U8"', "[1]", "[9,10]"), b"xy")
    c["bad_size"] = raw(t % ('"I32"', "[2,2]", "[0,4]"), b"abcd")
    c["bad_f4_odd"] = raw(t % ('"F4"', "[3]", "[0,2]"), b"ab")
    c["bad_overlap"] = raw('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
                           '"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', b"abcdef")
    c["bad_hole"] = raw('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
                        '"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}', b"abcde")
    c["bad_same10"] = raw("{" + ",".join('"t%d":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}' % i
                                         for i in range(10)) + "}", bytes(16))
    # metadata
    c["bad_meta_array"] = raw('{"__metadata__":["a"]}')
    c["bad_meta_number"] = raw('{"__metadata__":{"format":"pt","n":1}}')
    c["bad_meta_dup"] = raw('{"__metadata__":{"k":"a","k":"b"}}')
    return c


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/safetensors"
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(corpus().items()):
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
