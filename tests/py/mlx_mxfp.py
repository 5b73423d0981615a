"""trueq's reader of MLX's mxfp4 / mxfp8 modes against mlx itself (venv-mlx: mlx 0.32.4, mlx-lm 0.32.2).

usage: mlx_mxfp.py TRUEQ WORKDIR   (TRUEQ_LIBRARY = libtrueq.so, PYTHONPATH = python/)

1. mx.quantize(w, mode=M) + mx.save_safetensors for M in mxfp4, mxfp8, of F32 / F16 / BF16 random
   matrices and of adversarial ones (rows spanning 1e-30 .. 1e30, an all-zero row, subnormal-scale
   groups), with config.json "quantization" {"group_size": 32, "bits", "mode"} or without any
   config (mode from the shapes): `trueq inspect --json` names codec mlx-M, bits, group 32,
   bits per weight b + 8/32, bytes reconciling with the file; trueq's decode equals
   mx.dequantize(..., dtype=float32) bit for bit, except where mlx's own decode is not finite
   (mx.quantize gives a group of ~1e-38 values the exponent 249 under mxfp8, which decodes to
   inf): there trueq refuses the tensor by name.
2. Every element code under every exponent whose products are finite float32 (mxfp4: e 0..252,
   mxfp8: e 0..246), written as raw arrays: decode equal to mx.dequantize bit for bit; exponent
   254 (4 * 2^127 overflows) and 255 (E8M0 NaN), where mlx's own decode gives inf / nan: trueq
   refuses the tensor with a message naming the row and group.
3. mlx_lm.convert(q_mode=M) of a random BF16 Llama under HF names (2 layers; embeddings and
   lm_head quantized too, as mlx_lm does): config.json names the mode; inspect's codec, bits per
   weight and bytes; decode = mx.dequantize.
Prints "ok - ..." / "not ok - ..." lines; exit 1 on any failure.
"""
import json
from tap import Tap
import os
import subprocess
import sys

import mlx.core as mx
import numpy as np

import trueq

TQ, WORK = sys.argv[1], sys.argv[2]
BITS = {"mxfp4": 4, "mxfp8": 8}


T = Tap(TQ)
report, run = T.report, T.run


def deq(wq, s, mode):
    return np.array(mx.dequantize(wq, s, mode=mode, dtype=mx.float32))


def same(a, b):
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def check_file(path, tag, mode, arrs):
    js = json.loads(run("inspect", path, "--json"))
    rows = {t["name"]: t for t in js["tensors"]}
    names = [n[: -len(".scales")] + ".weight" for n in arrs if n.endswith(".scales")]
    b = BITS[mode]
    ok = all(rows[n]["quantized"] and rows[n]["codec"] == "mlx-" + mode and rows[n]["bits"] == b
             and rows[n]["group"] == 32 and abs(rows[n]["bits_per_weight"] - (b + 0.25)) < 1e-9 for n in names)
    report(ok, f"{tag}: inspect names mlx-{mode}, {b} bits, group 32, {b + 0.25} bits/weight "
               f"(got {sorted(set((rows[n]['codec'], rows[n]['bits'], rows[n]['group'], rows[n]['bits_per_weight']) for n in names))})")
    T = js["totals"]
    size = os.path.getsize(path)
    side = sum(arrs[n].nbytes for n in arrs if n.endswith(".scales"))
    ok = (T["file_bytes"] == size and T["header_bytes"] + T["padding_bytes"] + T["payload_bytes"] + T["scale_bytes"]
          == size and T["scale_bytes"] == side and T["quantized"] == len(names))
    report(ok, f"{tag}: bytes reconcile with the file ({size} = header {T['header_bytes']} + padding "
               f"{T['padding_bytes']} + payload {T['payload_bytes']} + scales {T['scale_bytes']}, mlx's {side})")
    bad, refused = [], []
    with trueq.open(path) as m:
        for n in names:
            ref = deq(arrs[n], arrs[n[: -len(".weight")] + ".scales"], mode)
            if np.isfinite(ref).all():
                if not same(m[n].numpy(), ref):
                    bad.append(n)
                continue
            try:   # mlx's own decode is not finite (mx.quantize of subnormal groups): trueq must refuse
                m[n].numpy()
                bad.append(n + " (not refused)")
            except trueq.TrueqError as ex:
                (refused if "scale exponent" in str(ex) else bad).append(n)
    report(not bad, f"{tag}: trueq's decode of {len(names) - len(refused)} tensors equals mx.dequantize bit for bit"
                    + (f"; {len(refused)} that mlx decodes to inf/nan refused by name" if refused else "")
                    + (f" (differ: {bad[:3]})" if bad else ""))


def adversarial(rng):
    a = rng.standard_normal((8, 256)).astype(np.float32)
    a[0] *= np.float32(1e-30)
    a[1] *= np.float32(1e30)
    a[2] = 0
    a[3, :128] = np.float32(1e-38) * rng.standard_normal(128).astype(np.float32)   # subnormal-scale groups
    a[4] = np.where(np.arange(256) % 2, 6.0, -0.25).astype(np.float32)              # grid points and ties
    a[5] = np.float32(448) * np.sign(a[5])
    return a


def quantized_files():
    rng = np.random.default_rng(17)
    k = 0
    for mode in ("mxfp4", "mxfp8"):
        for dt, dn in ((mx.float32, "F32"), (mx.float16, "F16"), (mx.bfloat16, "BF16")):
            for conf in (True, False):
                d = os.path.join(WORK, f"q{k}")
                k += 1
                os.makedirs(d, exist_ok=True)
                arrs = {}
                mats = {"model.a": rng.standard_normal((64, 256)).astype(np.float32) * 0.05,
                        "model.b": rng.standard_normal((16, 96)).astype(np.float32)}
                if dt == mx.float32:
                    mats["model.adv"] = adversarial(rng)
                for name, w in mats.items():
                    wq, s = mx.quantize(mx.array(w).astype(dt), group_size=32, bits=BITS[mode], mode=mode)[:2]
                    arrs[name + ".weight"], arrs[name + ".scales"] = wq, s
                arrs["model.norm.weight"] = mx.ones((256,), dtype=dt)
                path = os.path.join(d, "model.safetensors")
                mx.save_safetensors(path, arrs)
                if conf:
                    json.dump({"model_type": "test", "quantization": {"group_size": 32, "bits": BITS[mode], "mode": mode}},
                              open(os.path.join(d, "config.json"), "w"))
                check_file(path, f"mx.quantize {mode} {dn}{'' if conf else ' (no config)'}", mode, arrs)


def crafted():
    for mode, emax in (("mxfp4", 252), ("mxfp8", 246)):
        b = BITS[mode]
        n = 1 << b
        rows = emax + 1
        cols = 32 * (n // 32 if n > 32 else 1)   # every code once per row (mxfp4: 16 codes twice)
        codes = np.tile(np.arange(cols, dtype=np.uint64) % n, (rows, 1))
        per = 32 // b
        words = np.zeros((rows, cols // per), dtype=np.uint64)
        for i in range(per):
            words |= codes[:, i::per] << np.uint64(b * i)
        wq = mx.array(words.astype(np.uint32))
        if mode == "mxfp8":   # drop the E4M3 NaN codes (0x7F, 0xFF): mlx decodes them to nan
            c = codes.copy()
            c[(c & 0x7F) == 0x7F] ^= 1
            words[:] = 0
            for i in range(per):
                words |= c[:, i::per] << np.uint64(b * i)
            wq = mx.array(words.astype(np.uint32))
        sc = np.repeat(np.arange(rows, dtype=np.uint8)[:, None], cols // 32, axis=1)
        d = os.path.join(WORK, f"craft-{mode}")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "model.safetensors")
        mx.save_safetensors(path, {"m.w.weight": wq, "m.w.scales": mx.array(sc)})
        ref = deq(wq, mx.array(sc), mode)
        with trueq.open(path) as m:
            got = m["m.w.weight"].numpy()
        report(np.isfinite(ref).all() and same(got, ref),
               f"{mode}: every code x exponents 0..{emax} ({rows * cols} values, subnormal products included) "
               f"decode as mx.dequantize bit for bit")
        for e in (254, 255):
            if e == 254 and mode == "mxfp8":
                continue
            sc2 = sc[:2].copy()
            sc2[1, 0] = e
            p2 = os.path.join(d, f"e{e}.safetensors")
            mx.save_safetensors(p2, {"m.w.weight": wq[:2], "m.w.scales": mx.array(sc2)})
            theirs = deq(wq[:2], mx.array(sc2), mode)
            msg = ""
            try:
                with trueq.open(p2) as m:
                    m["m.w.weight"].numpy()
            except trueq.TrueqError as ex:
                msg = str(ex)
            report(not np.isfinite(theirs).all() and f"row 1, group 0: scale exponent {e}" in msg,
                   f"{mode}: exponent {e} (mlx decodes {int((~np.isfinite(theirs)).sum())} values to inf/nan): "
                   f"trueq refuses naming the row and group ({msg[-90:]!r})")


def tiny_llama():
    """A random 2-layer Llama under HF names with a WordLevel tokenizer (mlx_lm.convert wants one)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    d = os.path.join(WORK, "tiny-llama")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(3)
    dim, inter, nl, V = 128, 256, 2, 128
    w = {"model.embed_tokens.weight": rng.standard_normal((V, dim)), "lm_head.weight": rng.standard_normal((V, dim)) * 0.1,
         "model.norm.weight": np.ones(dim)}
    for i in range(nl):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = w[p + "post_attention_layernorm.weight"] = np.ones(dim)
        for n, shape in (("self_attn.q_proj", (dim, dim)), ("self_attn.k_proj", (dim // 2, dim)),
                         ("self_attn.v_proj", (dim // 2, dim)), ("self_attn.o_proj", (dim, dim)),
                         ("mlp.gate_proj", (inter, dim)), ("mlp.up_proj", (inter, dim)), ("mlp.down_proj", (dim, inter))):
            w[p + n + ".weight"] = rng.standard_normal(shape) * 0.05
    mx.save_safetensors(os.path.join(d, "model.safetensors"),
                        {k: mx.array(v.astype(np.float32)).astype(mx.bfloat16) for k, v in w.items()}, metadata={"format": "pt"})
    json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim, "intermediate_size": inter,
               "num_hidden_layers": nl, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": V,
               "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
               "hidden_act": "silu", "torch_dtype": "bfloat16"}, open(os.path.join(d, "config.json"), "w"))
    tok = Tokenizer(models.WordLevel({f"w{i}": i for i in range(V)}, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(os.path.join(d, "tokenizer.json"))
    json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "w0"},
              open(os.path.join(d, "tokenizer_config.json"), "w"))
    return d


def mlx_lm_converted():
    from mlx_lm.convert import convert
    src = tiny_llama()
    for mode in ("mxfp4", "mxfp8"):
        out = os.path.join(WORK, f"mlxlm-{mode}")
        convert(src, mlx_path=out, quantize=True, q_mode=mode)
        st = os.path.join(out, "model.safetensors")
        q = json.load(open(os.path.join(out, "config.json"))).get("quantization")
        report(isinstance(q, dict) and q.get("mode") == mode, f"mlx_lm.convert q_mode={mode}: config.json quantization {q}")
        check_file(st, f"mlx_lm.convert q_mode={mode} of a BF16 Llama (embeddings, lm_head included)", mode, mx.load(st))


quantized_files()
crafted()
mlx_lm_converted()
sys.exit(T.exit_code())
