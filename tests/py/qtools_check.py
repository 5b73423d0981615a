"""trueq against checkpoints made by the real quantization tools (tests/py/qtools_fixtures.py).

usage: qtools_check.py TRUEQ FIXTURES_DIR   (TRUEQ_LIBRARY = libtrueq.so, PYTHONPATH = python/)

For every case of FIXTURES_DIR/manifest.json (one tool, one layout, 14 quantized Linear modules):
1. `trueq inspect --json` of model.safetensors names each module's codec, bits and group as the
   manifest (the tool's settings) says; its bits per weight equal the module's stored entries'
   bytes (read here from the safetensors header: codes and every side entry) * 8 / (out * in);
   (to the 9 digits the JSON prints); the totals add up to the file's size (header + padding + payload + scales), the scale bytes
   being those entries' bytes minus the codes', and 14 tensors are quantized.
2. trueq's decode (the Python binding over tq_model_tensor_f32) equals the tool's own decode
   (ref.safetensors): bit for bit where the tool decodes in float32 (bitsandbytes), and where
   it decodes in a 16-bit dtype (compressed-tensors, AutoAWQ, AutoGPTQ: one product in that
   dtype) trueq's float32 value rounded to that dtype equals it bit for bit.
3. `trueq verify ref.safetensors model.safetensors --json`: every module compared; max abs
   error 0 for float32 references, else at most half a unit in the last place of the 16-bit
   reference's largest magnitude (the one rounding the tool applies).
Prints "ok - ..." / "not ok - ..." lines; exit 1 on any failure.
"""
import json
from tap import Tap
import os
import struct
import subprocess
import sys

import numpy as np
import torch
from safetensors.torch import load_file

import trueq

TQ, FX = sys.argv[1], sys.argv[2]


T = Tap(TQ)
report, run = T.report, T.run


def why(what, bad):
    return f" ({what}: {bad})" if bad else ""


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return {k: v["data_offsets"][1] - v["data_offsets"][0] for k, v in h.items()}


TORCH_DT = {"F16": torch.float16, "BF16": torch.bfloat16}


def check(case):
    d = os.path.join(FX, case["case"])
    st = os.path.join(d, "model.safetensors")
    tag = f"{case['case']} ({case['tool']} {case['version']})"
    ref = load_file(os.path.join(d, "ref.safetensors"))
    sizes = header(st)
    js = json.loads(run("inspect", st, "--json"))
    rows = {t["name"]: t for t in js["tensors"]}
    bad = []
    codes_bytes = side_bytes = 0
    for name in case["modules"]:
        r, mod = rows.get(name), name[: -len(".weight")]
        own = {k: v for k, v in sizes.items() if k.startswith(mod + ".")}
        shape = list(ref[name].shape)
        bpw = sum(own.values()) * 8 / (shape[0] * shape[1])
        want_group = case["group"] if case["group"] else None
        if not (r and r["quantized"] and r["codec"] == case["codec"] and r["bits"] == case["bits"]
                and (want_group is None or r["group"] == want_group) and r["shape"] == shape
                and abs(r["bits_per_weight"] - bpw) < 1e-7 * bpw and r["original_dtype"] == case["orig"]
                and r["payload_bytes"] + r["scale_bytes"] == sum(own.values())):
            bad.append((name, r and (r["codec"], r["bits"], r["group"], r["bits_per_weight"], r["original_dtype"]),
                        bpw))
        if r:
            codes_bytes += r["payload_bytes"]
            side_bytes += r["scale_bytes"]
    report(not bad, f"{tag}: inspect names {case['codec']}/{case['bits']}"
                    f"{'/group:%d' % case['group'] if case['group'] else ''} and the stored bits per weight of all "
                    f"{len(case['modules'])} modules" + why("first differing", bad[:1]))
    T = js["totals"]
    size = os.path.getsize(st)
    ok = (T["file_bytes"] == size and T["header_bytes"] + T["padding_bytes"] + T["payload_bytes"] + T["scale_bytes"]
          == size and T["quantized"] == len(case["modules"]) and T["scale_bytes"] == side_bytes)
    report(ok, f"{tag}: bytes reconcile with the file ({size} = header {T['header_bytes']} + padding "
               f"{T['padding_bytes']} + payload {T['payload_bytes']} + scales {T['scale_bytes']}), "
               f"{T['quantized']} quantized")
    bad, worst, nz_sign = [], 0.0, [0]
    with trueq.open(st) as m:
        for name in case["modules"]:
            got = torch.from_numpy(m[name].numpy())
            want = ref[name]
            if case["ref_dtype"] == "F32":
                a, b = got, want.float()
                diff = got.view(torch.int32) != want.float().view(torch.int32)
            else:
                dt = TORCH_DT[case["ref_dtype"]]
                a, b = got.to(dt), want.to(dt)
                diff = a.view(torch.int16) != b.view(torch.int16)
            # the one tolerated difference: the sign of a zero. bitsandbytes
            # 0.50.2's CPU decode of FP4's code 8 gave +0 (trueq's value) on an
            # AVX-512 machine and -0 on an AVX2-only one (2026-12-03); every
            # other bit must match
            zsign = diff & (a == 0) & (b == 0)
            nz_sign[0] += int(zsign.sum())
            worst = max(worst, float((got - want.float()).abs().max()))
            if bool((diff & ~zsign).any()):
                bad.append(name)
    how = "bit for bit" if case["ref_dtype"] == "F32" else f"bit for bit once rounded to {case['ref_dtype']}"
    if nz_sign[0]:
        how += f" but for the sign of {nz_sign[0]} zeros"
    report(not bad, f"{tag}: trueq's decode equals the tool's own ({case['ref_dtype']}) {how}, max |diff| "
                    f"{worst:.3g}" + why("differ", bad[:3]))
    vj = json.loads(run("verify", os.path.join(d, "ref.safetensors"), st, "--json"))
    half_ulp = {"F32": 0.0, "F16": 2.0 ** -11, "BF16": 2.0 ** -8}[case["ref_dtype"]]
    vt = {t["name"]: t for t in vj["tensors"]}
    bad = []
    for name in case["modules"]:
        t = vt.get(name)
        lim = half_ulp * float(ref[name].float().abs().max())
        if not (t and t["presence"] == "compared" and t["quantized"] and t["metrics"]["max_abs_error"] <= lim):
            bad.append((name, t and t["metrics"]["max_abs_error"], lim))
    report(not bad, f"{tag}: trueq verify against the tool's decode: max abs error "
                    f"{'0' if not half_ulp else '<= half an ulp of ' + case['ref_dtype']} on every module "
                    + why("over", bad[:2]))


man = json.load(open(os.path.join(FX, "manifest.json")))
for c in man["cases"]:
    try:
        check(c)
    except Exception as e:   # one case's failure must not hide the others
        report(False, f"{c['case']}: {e}")
print(f"# {len(man['cases'])} cases from {sorted(set(c['tool'] + ' ' + c['version'] for c in man['cases']))}, "
      f"torch {man['torch']}")
sys.exit(T.exit_code())
