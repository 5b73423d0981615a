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

torch's float32 matrix products are the BLAS's sgemm (Debian's torch calls
sgemm_ of whatever libblas.so.3 the system points to), and their summation
order is most of transformers' own float32 error: on the Zen 4 VM of
2026-12-04 the same run read 2.3e-4 from float64 over netlib's reference
BLAS and 6.5e-5 over OpenBLAS 0.3.21 (docs/formats/gguf.md, last section).
So OpenBLAS, the library trueq links, is loaded (RTLD_GLOBAL, one thread)
before torch, and its sgemm_ is the one torch binds; stderr names it.
"""
import ctypes
import ctypes.util
import os
import sys


def pin_openblas():
    """Load OpenBLAS into the global symbol scope before torch; its config or None."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    name = ctypes.util.find_library("openblas")
    if not name:
        return None
    lib = ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
    lib.openblas_get_config.restype = ctypes.c_char_p
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return "%s (%s)" % (lib.openblas_get_config().decode(), lib.openblas_get_corename().decode())


BLAS = pin_openblas()

import numpy as np  # noqa: E402 (after pin_openblas)
import torch  # noqa: E402
from gguf import GGUFReader  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402


def main():
    path = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    print("gguf_run_logits: torch's sgemm from %s" % (BLAS or "the system's libblas.so.3 (no OpenBLAS found)"),
          file=sys.stderr)
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
