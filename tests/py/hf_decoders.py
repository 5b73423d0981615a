#!/usr/bin/env python3
"""Reference side of tests/test_hf_decoders.c: tiny Hugging Face decoders
made by transformers itself, and their logits.

  hf_decoders.py make CACHE      build the models (once) under CACHE and print
                                 one line per model: NAME FAMILY DIR
  hf_decoders.py run DIR IN OUT  IN: JSON list of prompts (lists of ids);
                                 OUT: float32 logits, prompt after prompt,
                                 [len, vocab] each, from one forward pass over
                                 the whole prompt in float32

Each model is built with `AutoModelForCausalLM.from_config` under a fixed
seed; then every parameter is redrawn (seeded) so biases and norm weights are
not their zero / one initial values, and saved with `save_pretrained`
(safetensors) in float32 and in bfloat16. Written to a temporary directory
and renamed, so an interrupted build leaves nothing half-made.
"""
import json
import os
import shutil
import sys

import torch
import transformers

VOCAB = 256


def base(**kw):
    d = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
             rms_norm_eps=1e-5, rope_theta=10000.0, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    d.update(kw)
    return d


# name -> (family, config class, config keys, generation_config eos)
MODELS = {
    "llama": ("LlamaForCausalLM", transformers.LlamaConfig, base(tie_word_embeddings=False), [2, 7]),
    "llama3": ("LlamaForCausalLM", transformers.LlamaConfig,
               base(tie_word_embeddings=True, rope_theta=500000.0,
                    rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 32}), 2),
    "qwen2": ("Qwen2ForCausalLM", transformers.Qwen2Config,
              base(tie_word_embeddings=True, rms_norm_eps=1e-6, use_sliding_window=False), 2),
    # original context 16, prompts up to 40: both factor sets engage; window 8
    "phi3": ("Phi3ForCausalLM", transformers.Phi3Config,
             base(tie_word_embeddings=False, max_position_embeddings=64, original_max_position_embeddings=16,
                  sliding_window=8,
                  rope_scaling={"type": "longrope",
                                "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5, 3.1, 4.0],
                                "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0, 13.0, 20.0]}), 2),
    "mistral": ("MistralForCausalLM", transformers.MistralConfig,
                base(tie_word_embeddings=False, sliding_window=6, head_dim=16), 2),
}


def build(cache):
    os.makedirs(cache, exist_ok=True)
    for i, (name, (family, cls, kw, eos)) in enumerate(MODELS.items()):
        dirs = {dt: os.path.join(cache, f"{name}-{dt}") for dt in ("f32", "bf16")}
        if not all(os.path.exists(os.path.join(d, "done")) for d in dirs.values()):
            torch.manual_seed(1234 + i)
            cfg = cls(**kw)
            cfg.architectures = [family]
            model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32,
                                                                  attn_implementation="eager")
            g = torch.Generator().manual_seed(99 + i)
            with torch.no_grad():
                for pname, p in model.named_parameters():
                    r = torch.randn(p.shape, generator=g)
                    if "norm" in pname:
                        p.copy_(1.0 + 0.2 * r)
                    elif pname.endswith(".bias"):
                        p.copy_(0.3 * r)
                    else:
                        p.copy_(0.15 * r)
            model.generation_config.eos_token_id = eos
            for dt, d in dirs.items():
                tmp = d + ".tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                m = model if dt == "f32" else model.to(torch.bfloat16)
                m.save_pretrained(tmp, safe_serialization=True)
                open(os.path.join(tmp, "done"), "w").close()
                shutil.rmtree(d, ignore_errors=True)
                os.rename(tmp, d)
        for dt, d in dirs.items():
            print(f"{name}-{dt} {family} {d}")


def run(d, inp, out):
    prompts = json.load(open(inp))
    model = transformers.AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32,
                                                              attn_implementation="eager")
    model.eval()
    with open(out, "wb") as f, torch.no_grad():
        for ids in prompts:
            x = torch.tensor([ids], dtype=torch.long)
            logits = model(input_ids=x, use_cache=False).logits[0].to(torch.float32)
            f.write(logits.contiguous().numpy().tobytes())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        build(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
