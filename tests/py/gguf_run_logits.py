#!/usr/bin/env python3
"""Reference next-token logits of a llama GGUF file from transformers.

usage: gguf_run_logits.py FILE.gguf < prompts

transformers (4.46.3) loads the GGUF itself (from_pretrained(dir,
gguf_file=name): gguf-py dequantizes every tensor, q/k are permuted back to
Hugging Face's rotate-half layout) and runs it in float32. stdin holds one
prompt per line as white-space separated token ids. For every prompt, the
logits at every position (len(prompt) x vocab float32, little-endian, row by
row) are written to stdout, prompts one after another; nothing else is
written there. A file without output.weight gets its LM head tied to
token_embd, as llama.cpp does (transformers would leave it random). Used by tests/test_llama_gguf.c.
"""
import os
import sys

import numpy as np
import torch
from gguf import GGUFReader
from transformers import AutoModelForCausalLM


def main():
    path = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                 torch_dtype=torch.float32)
    # transformers 4.46.3 does not tie the LM head to the embeddings for a
    # GGUF without output.weight (llama.cpp does): it would be left random.
    if "output.weight" not in {t.name for t in GGUFReader(path).tensors}:
        model.lm_head.weight = model.model.embed_tokens.weight
    model.eval()
    out = sys.stdout.buffer
    for line in sys.stdin:
        ids = [int(t) for t in line.split()]
        if not ids:
            continue
        with torch.no_grad():
            logits = model(torch.tensor([ids], dtype=torch.long)).logits[0]
        out.write(np.ascontiguousarray(logits.float().numpy(), dtype="<f4").tobytes())
    out.flush()


if __name__ == "__main__":
    main()
