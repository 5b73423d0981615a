#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_qlayout.c: one input per foreign
quantized layout and variant (GPTQ v1/v2, AWQ GEMM, compressed-tensors
pack/int/float, bitsandbytes NF4/FP4/double quant/LLM.int8), valid ones and
near-misses, each as config.json text + NUL + a safetensors file, the bytes
written from the layouts of docs/formats/quantized-layouts.md (random codes,
exact scales). Standard library only; deterministic output.
usage: tests/gen/gen_qlayout_corpus.py fuzz/corpus/qlayout"""
import json, os, random, struct, sys

R = random.Random(11)


def st(tensors):
    """tensors: list of (name, dtype, shape, bytes)."""
    hdr, off, blob = {}, 0, b""
    for name, dt, shape, data in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blob += data
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def words(n):
    return b"".join(struct.pack("<I", R.getrandbits(32)) for _ in range(n))


def f16(n, v=0x3800):
    return struct.pack("<%dH" % n, *([v] * n))


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


def qc(obj):
    return json.dumps({"quantization_config": obj})


def gptq(bits=4, fmt=None, out=32, inp=64, g=16):
    ng = inp // g
    q = {"quant_method": "gptq", "bits": bits, "group_size": g, "desc_act": True}
    if fmt:
        q["checkpoint_format"] = fmt
    return qc(q), [("l.qweight", "I32", [inp * bits // 32, out], words(inp * bits // 32 * out)),
                   ("l.qzeros", "I32", [ng, out * bits // 32], words(ng * out * bits // 32)),
                   ("l.scales", "F16", [ng, out], f16(ng * out)),
                   ("l.g_idx", "I32", [inp], struct.pack("<%di" % inp, *[(i * 7) % ng for i in range(inp)]))]


def awq(out=32, inp=64, g=16, ver="gemm"):
    ng = (inp + g - 1) // g
    return qc({"quant_method": "awq", "bits": 4, "group_size": g, "zero_point": True, "version": ver}), [
        ("m.qweight", "I32", [inp, out // 8], words(inp * out // 8)),
        ("m.qzeros", "I32", [ng, out // 8], words(ng * out // 8)),
        ("m.scales", "F16", [ng, out], f16(ng * out)),
        ("m.bias", "F16", [out], f16(out))]


def ct(fmt, bits, strategy, sym=True, out=16, inp=32, g=16, sdt="F16", typ=None):
    typ = typ or ("float" if fmt == "float-quantized" else "int")
    ng = (inp + g - 1) // g if strategy == "group" else 1
    sshape = [1] if strategy == "tensor" else [out, ng]
    ns = 1 if strategy == "tensor" else out * ng
    sb = f16(ns) if sdt != "F32" else f32([0.01] * ns)
    conf = qc({"quant_method": "compressed-tensors", "format": fmt, "ignore": ["lm_head"],
               "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
                   "num_bits": bits, "type": typ, "symmetric": sym, "strategy": strategy,
                   "group_size": g if strategy == "group" else None}}}})
    t = []
    if fmt == "pack-quantized":
        per = 32 // bits
        t.append(("m.weight_packed", "I32", [out, (inp + per - 1) // per], words(out * ((inp + per - 1) // per))))
        t.append(("m.weight_shape", "I64", [2], struct.pack("<2q", out, inp)))
        if not sym:
            t.append(("m.weight_zero_point", "I32", [(out + per - 1) // per, ng], words((out + per - 1) // per * ng)))
    else:
        t.append(("m.weight", "F8_E4M3" if fmt == "float-quantized" else "I8", [out, inp],
                  bytes(R.getrandbits(8) & 0x7E for _ in range(out * inp))))
        if not sym:
            t.append(("m.weight_zero_point", "I8", sshape, bytes(R.getrandbits(8) for _ in range(ns))))
    t.append(("m.weight_scale", sdt, sshape, sb))
    t.append(("lm_head.weight", "F16", [4, 8], f16(32)))
    return conf, t


NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]
FP4 = [v / 12.0 for v in [0, 0.0625, 8, 12, 4, 6, 2, 3, -0.0, -0.0625, -8, -12, -4, -6, -2, -3]]


def bnb4(qt="nf4", dq=False, rows=8, cols=40, bs=64):
    n = rows * cols
    nb = (n + bs - 1) // bs
    state = {"quant_type": qt, "blocksize": bs, "dtype": "bfloat16", "shape": [rows, cols]}
    t = [("m.weight", "U8", [(n + 1) // 2, 1], bytes(R.getrandbits(8) for _ in range((n + 1) // 2)))]
    if dq:
        state.update({"nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.03})
        t += [("m.weight.absmax", "U8", [nb], bytes(R.getrandbits(8) for _ in range(nb))),
              ("m.weight.nested_absmax", "F32", [(nb + 255) // 256], f32([0.01] * ((nb + 255) // 256))),
              ("m.weight.nested_quant_map", "F32", [256], f32([(i - 127.5) / 127.5 for i in range(256)]))]
    else:
        t.append(("m.weight.absmax", "F32", [nb], f32([0.05] * nb)))
    t.append(("m.weight.quant_map", "F32", [16], f32(NF4 if qt == "nf4" else FP4)))
    js = json.dumps(state).encode()
    t.append(("m.weight.quant_state.bitsandbytes__" + qt, "U8", [len(js)], js))
    return qc({"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": qt,
               "bnb_4bit_use_double_quant": dq}), t


def bnb8(rows=8, cols=16, fmt=0):
    return qc({"quant_method": "bitsandbytes", "load_in_8bit": True}), [
        ("m.weight", "I8", [rows, cols], bytes(R.getrandbits(8) for _ in range(rows * cols))),
        ("m.SCB", "F32", [rows], f32([1.5] * rows)),
        ("m.weight_format", "U8", [], bytes([fmt]))]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = {
        "gptq4": gptq(), "gptq3": gptq(3), "gptq2": gptq(2), "gptq8": gptq(8), "gptq4v2": gptq(4, "gptq_v2"),
        "awq": awq(), "awq_pad": awq(inp=40), "awq_gemv": awq(ver="gemv"),
        "ct_pack4g": ct("pack-quantized", 4, "group"), "ct_pack4ga": ct("pack-quantized", 4, "group", sym=False, out=30),
        "ct_pack8ca": ct("pack-quantized", 8, "channel", sym=False), "ct_pack2t": ct("pack-quantized", 2, "tensor"),
        "ct_int8c": ct("int-quantized", 8, "channel", sdt="F32"), "ct_int8ta": ct("int-quantized", 8, "tensor", sym=False),
        "ct_fp8t": ct("float-quantized", 8, "tensor", sdt="F32"), "ct_fp8c": ct("float-quantized", 8, "channel", sdt="BF16"),
        "bnb_nf4": bnb4(), "bnb_fp4": bnb4("fp4", rows=7, cols=33, bs=32), "bnb_nf4dq": bnb4(dq=True, rows=64, cols=72, bs=16),
        "bnb_fp4dq": bnb4("fp4", True), "bnb_int8": bnb8(), "bnb_int8_col32": bnb8(fmt=1),
    }
    # near-misses: one fault each
    c, t = gptq(); cases["gptq_nozeros"] = (c, [x for x in t if x[0] != "l.qzeros"])
    c, t = awq(); cases["awq_badscales"] = (c, t[:2] + [("m.scales", "F16", [3, 32], f16(96))])
    c, t = bnb4(); cases["bnb_badjson"] = (c, t[:-1] + [(t[-1][0], "U8", [4], b"{\"qu")])
    c, t = ct("pack-quantized", 4, "group"); cases["ct_noconf"] = ("{}", t)
    for name, (conf, tensors) in sorted(cases.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(conf.encode() + b"\0" + st(tensors))


if __name__ == "__main__":
    main()
