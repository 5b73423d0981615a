"""Quantized checkpoints made by the tools people use (venv-qtools: tests/py/qtools_venv.sh).

usage: qtools_fixtures.py OUTDIR   -> OUTDIR/<case>/{model.safetensors, config.json, ref.safetensors},
                                      OUTDIR/manifest.json

Every case is a tiny Llama (transformers LlamaForCausalLM: hidden 128, intermediate 256, 2 layers,
4 heads, 2 KV heads, vocab 256; random weights, seed fixed) whose 14 Linear modules (lm_head left
wide) are quantized by the tool and saved the way the tool saves them:

- bitsandbytes 0.50.2 through transformers' own path: `from_pretrained(..., quantization_config=
  BitsAndBytesConfig(...), device_map="cpu")` then `save_pretrained` (NF4/FP4, with and without
  double quant, F16 and BF16 models; LLM.int8).
- compressed-tensors 0.20.1 as llm-compressor drives it: `apply_quantization_config`, scales and
  zero points from compressed-tensors' `calculate_qparams` over each weight's min/max (the
  min-max observer's values), `ModelCompressor.compress_model`, `save_pretrained`,
  `update_config` (pack-quantized 2/4/8-bit sym/asym group/channel, int-quantized int8,
  float-quantized FP8 channel/tensor).
- AutoAWQ 0.2.9: AwqQuantizer.pseudo_quantize_tensor (its zero-point quantizer) and
  WQLinear_GEMM.from_linear (its GEMM packer); the state dict saved as AutoAWQ's save_quantized
  does (safetensors, metadata format pt) with its transformers quantization_config.
- AutoGPTQ 0.7.1: its GPTQ solver (GPTQ.add_batch + fasterquant on random calibration inputs,
  act-order where desc_act) and QuantLinear.pack (qlinear_cuda, the default packer); saved as
  save_quantized does, with quantize_config.json and config.json quantization_config.
  The AWQ search and the model-level drivers are not run (they need a calibration data set and
  model code newer transformers broke); the quantizer math and the packing are the tools' own.

ref.safetensors holds, for each quantized module, the weight as the tool itself decodes it:
bitsandbytes dequantize_4bit with the file's quant_state (asked for float32 output; the decode is
float32 math) and int8_vectorwise_dequant (float32); compressed-tensors decompress_model (in the
model dtype: F16 or BF16); AutoAWQ dequantize_gemm (F16); AutoGPTQ's QuantLinear torch forward
on an identity input (F16). manifest.json lists each case: tool, version, expected codec, bits,
group, the reference dtype.
"""
import importlib.util
import json
import os
import sys
import types

import torch
from safetensors.torch import load_file, save_file

try:   # compressed-tensors logs each module's format check through loguru: keep the output to the cases
    from loguru import logger as _loguru
    _loguru.remove()
except ImportError:
    pass

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
CFG = dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
           vocab_size=256, max_position_embeddings=128, tie_word_embeddings=False)
manifest = []


def bare(*pkgs):
    """Import a tool's submodules without running its package root (which imports model code)."""
    for p in pkgs:
        if p in sys.modules:
            continue
        spec = importlib.util.find_spec(p)
        m = types.ModuleType(p)
        m.__path__ = list(spec.submodule_search_locations)
        sys.modules[p] = m


def base_model(dtype, seed=7):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    m = LlamaForCausalLM(LlamaConfig(**CFG))
    with torch.no_grad():   # spread the weights (the default init is tiny and uniform-ish)
        for n, p in m.named_parameters():
            if p.ndim == 2:
                p.copy_(torch.randn_like(p) * 0.05)
    return m.to(dtype)


def linears(m):
    return [(n, mod) for n, mod in m.named_modules() if isinstance(mod, torch.nn.Linear) and n != "lm_head"]


def add(case, tool, version, codec, bits, group, ref, ref_dtype, **kw):
    save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(OUT, case, "ref.safetensors"))
    manifest.append(dict(case=case, tool=tool, version=version, codec=codec, bits=bits, group=group,
                         ref_dtype=ref_dtype, modules=sorted(ref), **kw))
    print(f"made {case}: {tool} {version}, {len(ref)} modules", flush=True)


# ---- bitsandbytes (transformers' own quantize-on-load and save_pretrained) ------------------------
def bnb_cases():
    import bitsandbytes as bnb
    import bitsandbytes.functional as F
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    for dt, dn in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
        src = os.path.join(OUT, f"base-{dn}")
        base_model(dt).save_pretrained(src)
        cases = [("nf4", False), ("fp4", False), ("nf4", True), ("fp4", True)] if dt == torch.float16 else [("nf4", True)]
        for qt, dq in cases:
            case = f"bnb-{qt}{'-dq' if dq else ''}-{dn}"
            bc = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=qt, bnb_4bit_use_double_quant=dq,
                                    bnb_4bit_compute_dtype=dt)
            q = AutoModelForCausalLM.from_pretrained(src, quantization_config=bc, device_map="cpu", dtype=dt)
            q.save_pretrained(os.path.join(OUT, case))
            sd = load_file(os.path.join(OUT, case, "model.safetensors"))
            ref = {}
            for n, _ in linears(q):
                pre = n + ".weight."
                qs = F.QuantState.from_dict({k[len(n) + 8:]: v for k, v in sd.items() if k.startswith(pre)},
                                            device=torch.device("cpu"))
                qs.dtype = torch.float32   # the decode is float32 math; ask for it unrounded
                ref[n + ".weight"] = F.dequantize_4bit(sd[n + ".weight"], qs)
            add(case, "bitsandbytes", bnb.__version__, f"bnb-{qt}{'-dq' if dq else ''}", 4, 64, ref, "F32",
                orig=dn.upper())
        if dt == torch.float16:
            case = "bnb-int8-f16"
            q = AutoModelForCausalLM.from_pretrained(src, quantization_config=BitsAndBytesConfig(load_in_8bit=True),
                                                     device_map="cpu", dtype=dt)
            q.save_pretrained(os.path.join(OUT, case))
            sd = load_file(os.path.join(OUT, case, "model.safetensors"))
            ref = {n + ".weight": F.int8_vectorwise_dequant(sd[n + ".weight"], sd[n + ".SCB"]) for n, _ in linears(q)}
            add(case, "bitsandbytes", bnb.__version__, "bnb-int8", 8, 0, ref, "F32", orig="F16")


# ---- compressed-tensors (the compressor llm-compressor calls) --------------------------------------
def ct_cases():
    import compressed_tensors as ctm
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.quantization import (QuantizationArgs, QuantizationConfig, QuantizationScheme,
                                                 apply_quantization_config)
    from compressed_tensors.quantization.utils import calculate_qparams
    cases = [  # case, format, dtype, num_bits, type, symmetric, strategy, group_size, codec
        ("ct-pack4-g32-asym-f16", "pack-quantized", torch.float16, 4, "int", False, "group", 32, "ct-pack-asym"),
        ("ct-pack4-g64-sym-bf16", "pack-quantized", torch.bfloat16, 4, "int", True, "group", 64, "ct-pack"),
        ("ct-pack4-channel-sym-f16", "pack-quantized", torch.float16, 4, "int", True, "channel", None, "ct-pack"),
        ("ct-pack8-channel-asym-f16", "pack-quantized", torch.float16, 8, "int", False, "channel", None, "ct-pack-asym"),
        ("ct-pack2-g32-sym-f16", "pack-quantized", torch.float16, 2, "int", True, "group", 32, "ct-pack"),
        ("ct-int8-channel-sym-bf16", "int-quantized", torch.bfloat16, 8, "int", True, "channel", None, "ct-int"),
        ("ct-int8-tensor-asym-f16", "int-quantized", torch.float16, 8, "int", False, "tensor", None, "ct-int-asym"),
        ("ct-fp8-channel-bf16", "float-quantized", torch.bfloat16, 8, "float", True, "channel", None, "ct-fp8"),
        ("ct-fp8-tensor-f16", "float-quantized", torch.float16, 8, "float", True, "tensor", None, "ct-fp8"),
    ]
    for case, fmt, dt, nb, ty, sym, strat, gs, codec in cases:
        m = base_model(dt)
        args = QuantizationArgs(num_bits=nb, type=ty, symmetric=sym, strategy=strat, group_size=gs)
        apply_quantization_config(m, QuantizationConfig(config_groups={"group_0": QuantizationScheme(
            targets=["Linear"], weights=args)}, ignore=["lm_head"]))
        for n, mod in linears(m):   # the min-max observer's statistics, compressed-tensors' qparams
            w = mod.weight.data
            if strat == "group":
                lo, hi = w.unflatten(-1, (w.shape[1] // gs, gs)).amin(-1), w.unflatten(-1, (w.shape[1] // gs, gs)).amax(-1)
            elif strat == "channel":
                lo, hi = w.amin(1, keepdim=True), w.amax(1, keepdim=True)
            else:
                lo, hi = w.amin().reshape(1), w.amax().reshape(1)
            s, z = calculate_qparams(lo, hi, args)
            mod.weight_scale.data.copy_(s.reshape(mod.weight_scale.shape))
            if hasattr(mod, "weight_zero_point"):
                mod.weight_zero_point.data.copy_(z.reshape(mod.weight_zero_point.shape))
        comp = ModelCompressor.from_pretrained_model(m, quantization_format=fmt)
        comp.compress_model(m)
        d = os.path.join(OUT, case)
        m.save_pretrained(d)
        comp.update_config(d)
        comp.decompress_model(m)
        ref = {n + ".weight": mod.weight.data.clone() for n, mod in linears(m)}
        add(case, "compressed-tensors", ctm.__version__, codec, nb, gs or 0, ref,
            "F16" if dt == torch.float16 else "BF16", orig="F16" if dt == torch.float16 else "BF16", fmt=fmt,
            strategy=strat)


def save_like_autogptq(m, d, qcfg, quantize_config=None):
    os.makedirs(d, exist_ok=True)
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, os.path.join(d, "model.safetensors"),
              metadata={"format": "pt"})
    cfg = m.config.to_dict()
    cfg["quantization_config"] = qcfg
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    if quantize_config is not None:
        json.dump(quantize_config, open(os.path.join(d, "quantize_config.json"), "w"), indent=2)


def set_module(m, name, new):
    parent, _, leaf = name.rpartition(".")
    setattr(m.get_submodule(parent), leaf, new)


# ---- AutoAWQ (its quantizer's zero-point math and its GEMM packer) ---------------------------------
def awq_cases():
    bare("awq", "awq.utils", "awq.quantize")   # awq.modules.linear imports as it is
    sys.modules.setdefault("awq.utils.calib_data", types.ModuleType("awq.utils.calib_data"))
    sys.modules["awq.utils.calib_data"].get_calib_dataset = None   # only the calibration driver uses it
    import awq.modules.linear.gemm as gemm
    from awq.quantize.quantizer import AwqQuantizer
    from awq.utils.packing_utils import dequantize_gemm
    from importlib.metadata import version
    for g in (32, 128):
        case = f"awq-gemm-g{g}-f16"
        m = base_model(torch.float16)
        qz = types.SimpleNamespace(w_bit=4, group_size=g, zero_point=True)
        ref = {}
        for n, lin in linears(m):
            lin.weight.data, scales, zeros = AwqQuantizer.pseudo_quantize_tensor(qz, lin.weight.data)
            ql = gemm.WQLinear_GEMM.from_linear(lin, 4, g, False, scales.t().contiguous(), zeros.t().contiguous())
            set_module(m, n, ql)
            ref[n + ".weight"] = dequantize_gemm(ql.qweight, ql.qzeros, ql.scales, 4, g).t()
        qcfg = {"quant_method": "awq", "zero_point": True, "group_size": g, "bits": 4, "version": "gemm",
                "modules_to_not_convert": None}
        save_like_autogptq(m, os.path.join(OUT, case), qcfg)
        add(case, "autoawq", version("autoawq"), "awq", 4, g, ref, "F16", orig="F16")


# ---- AutoGPTQ (its GPTQ solver and its packer) -----------------------------------------------------
def gptq_cases():
    bare("auto_gptq", "auto_gptq.nn_modules", "auto_gptq.nn_modules.qlinear", "auto_gptq.quantization")
    from auto_gptq.nn_modules.qlinear.qlinear_cuda import QuantLinear
    from auto_gptq.quantization.gptq import GPTQ
    from importlib.metadata import version
    torch.cuda.synchronize = lambda *a, **k: None   # fasterquant times itself with it; nothing runs on a GPU
    cases = [(4, 32, True, False), (4, 64, False, True), (3, 32, True, False), (2, 64, False, False),
             (8, 128, True, True)]
    for bits, g, sym, act in cases:
        case = f"gptq-{bits}bit-g{g}-{'sym' if sym else 'asym'}{'-act' if act else ''}-f16"
        m = base_model(torch.float16)
        torch.manual_seed(100 + bits)
        ref = {}
        for n, lin in linears(m):
            x = torch.randn(256, lin.in_features) * (1 + torch.arange(lin.in_features) % 5)   # uneven activations
            lin32 = torch.nn.Linear(lin.in_features, lin.out_features, bias=False)
            lin32.weight.data = lin.weight.data.float()
            gq = GPTQ(lin32)
            gq.quantizer.configure(bits, perchannel=True, sym=sym, mse=False)
            gq.add_batch(x, lin32(x))
            scale, zero, g_idx = gq.fasterquant(blocksize=128, percdamp=0.01, group_size=g, actorder=act)
            lin.weight.data = lin32.weight.data.half()
            ql = QuantLinear(bits, g, lin.in_features, lin.out_features, False)
            ql.pack(lin, scale, zero, g_idx)
            set_module(m, n, ql)
            with torch.no_grad():
                ref[n + ".weight"] = ql(torch.eye(lin.in_features, dtype=torch.float16)).t()
        qcfg = {"quant_method": "gptq", "bits": bits, "group_size": g, "desc_act": act, "sym": sym,
                "true_sequential": True, "damp_percent": 0.01, "checkpoint_format": "gptq",
                "model_file_base_name": "model"}
        save_like_autogptq(m, os.path.join(OUT, case), qcfg, dict(qcfg) if bits == 4 else None)
        add(case, "auto-gptq", version("auto-gptq"), "gptq", bits, g, ref, "F16", orig="F16", act_order=act, sym=sym)


only = set(sys.argv[2:])
for name, fn in (("bnb", bnb_cases), ("ct", ct_cases), ("awq", awq_cases), ("gptq", gptq_cases)):
    if not only or name in only:
        fn()
json.dump({"torch": torch.__version__, "cases": manifest}, open(os.path.join(OUT, "manifest.json"), "w"), indent=1)
