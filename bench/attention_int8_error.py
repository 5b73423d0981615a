"""Error of the int8-kept encoder's attention against float32 transformers.

    python bench/attention_int8_error.py [--build build] [--model DIR] [--int8 DIR]

Runs the same token ids (transformers' tokenizer, a varied set of texts padded
into batches of 8, 12 to 128 tokens) through
  (a) trueq float32 (the float model),
  (b) trueq int8-kept (tq_enc_opts.keep_int8 over the --bits 8 copy) with
      float32 attention (int8_attention = -1),
  (c) the same with int8 attention (the default),
  (d) torch quantize_dynamic int8 (the speed bench's peer),
and compares each with float32 transformers: max |diff| and worst / mean
cosine of the real tokens' last hidden states, worst / mean cosine and max
|diff| of the sentence embeddings (mean pooling, normalized, as
sentence-transformers, computed here from each run's hidden states). The model defaults to the MiniLM of
tests/py/torch_venv.sh, the int8 copy to /tmp/trueq-bench/model-int8
(made with trueq convert --bits 8 when missing). Run with that venv's python.
"""
import argparse
import ctypes as C
import os
import subprocess
import sys

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

TEXTS = [
    "A man is playing a guitar.",
    "The quick brown fox jumps over the lazy dog.",
    "Quantization stores each weight in fewer bits and keeps a scale beside them.",
    "Café au lait, naïve résumé: accents survive the tokenizer.",
    "In 2024 the committee met 17 times and approved 3.5 million euros.",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "He said: 'no, not again!' -- and left.",
    "Attention weights are probabilities; most of them are small.",
    "The cat sat on the mat.",
    "Dogs are loyal animals that have lived with humans for thousands of years.",
    "Solar panels convert sunlight into electricity using photovoltaic cells.",
    " ".join(["The history of the region is long and complicated, with many kingdoms rising and falling over"
              " the centuries, each leaving its mark on the language, the architecture and the food."] * 3),
    " ".join(["Machine learning models are trained on data; their errors depend on how well the data covers"
              " the inputs they meet later, and on how the model's capacity matches the task."] * 3),
    "ok",
    "Numbers: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16.",
]


def trueq_run(lib, E, path, keep, attn, ids, mask):
    """Last hidden states [n, S, D] and pooled [n, D] by trueq over ids/mask."""
    class Batch(C.Structure):
        _fields_ = [("batch", C.c_int), ("seq", C.c_int), ("ids", C.c_void_p), ("type_ids", C.c_void_p),
                    ("mask", C.c_void_p)]

    class Out(C.Structure):
        _fields_ = [("hidden", C.c_void_p), ("pooled", C.c_void_p), ("logits", C.c_void_p), ("layers", C.c_void_p)]

    from trueq._lib import EncOpts, Error
    err = Error()
    m = lib.tq_model_open(path.encode(), C.byref(err))
    assert m, err.msg
    e = lib.tq_enc_open_ex(m, None, C.byref(EncOpts(keep_int8=keep, int8_attention=attn)), C.byref(err))
    assert e, err.msg
    lib.tq_enc_int8_attention.restype = C.c_int
    lib.tq_enc_int8_attention.argtypes = [C.c_void_p]
    used = lib.tq_enc_int8_attention(e)
    lib.tq_enc_forward.argtypes = [C.c_void_p, C.POINTER(Batch), C.POINTER(Out), C.c_void_p]
    n, S = ids.shape
    D = lib.tq_enc_config_of(e).contents.dim
    hid = np.zeros((n, S, D), np.float32)
    pooled = np.zeros((n, D), np.float32)
    for b0 in range(0, n, 8):
        i = np.ascontiguousarray(ids[b0:b0 + 8], np.int32)
        k = np.ascontiguousarray(mask[b0:b0 + 8], np.int32)
        h = np.zeros((len(i), S, D), np.float32)
        p = np.zeros((len(i), D), np.float32)
        bt = Batch(len(i), S, i.ctypes.data, None, k.ctypes.data)
        o = Out(h.ctypes.data, p.ctypes.data, None, None)
        st = lib.tq_enc_forward(e, C.byref(bt), C.byref(o), C.byref(err))
        assert st == 0, err.msg
        hid[b0:b0 + 8], pooled[b0:b0 + 8] = h, p
    lib.tq_enc_free(e)
    lib.tq_model_close(m)
    return hid, pooled, used


def pool(h, mask):
    """mean over the real tokens, normalized (sentence-transformers' MiniLM pooling)"""
    mk = mask[..., None].astype(np.float64)
    p = (h.astype(np.float64) * mk).sum(1) / mk.sum(1)
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def figures(ref_h, ref_p, h, p, mask):
    """(sentence embeddings pooled here from the hidden states, the same way for every run)"""
    ref_p, p = pool(ref_h, mask), pool(h, mask)
    real = mask.astype(bool)
    a, b = ref_h[real].astype(np.float64), h[real].astype(np.float64)
    tc = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    pa, pb = ref_p.astype(np.float64), p.astype(np.float64)
    pc = (pa * pb).sum(1) / (np.linalg.norm(pa, axis=1) * np.linalg.norm(pb, axis=1))
    return np.abs(a - b).max(), tc.min(), tc.mean(), pc.min(), pc.mean(), np.abs(pa - pb).max()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model")
    ap.add_argument("--int8", default="/tmp/trueq-bench/model-int8")
    a = ap.parse_args()
    if not a.model:
        a.model = subprocess.check_output(["bash", os.path.join(ROOT, "tests/py/torch_venv.sh")],
                                          text=True).splitlines()[1]
    if not os.path.isdir(a.int8):
        subprocess.check_call([os.path.join(a.build, "trueq"), "convert", a.model, "-o", a.int8, "--bits", "8"])
    os.environ["TRUEQ_LIBRARY"] = os.path.join(a.build, "libtrueq.so")
    sys.path.insert(0, os.path.join(ROOT, "python"))
    from trueq._lib import lib
    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(a.model)
    enc = tok(TEXTS, padding="max_length", truncation=True, max_length=128, return_tensors="pt")
    ids, mask = enc["input_ids"].numpy(), enc["attention_mask"].numpy()
    model = AutoModel.from_pretrained(a.model).eval()

    def torch_out(m):
        with torch.no_grad():
            h = m(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        mk = enc["attention_mask"].unsqueeze(-1).float()
        p = (h * mk).sum(1) / mk.sum(1).clamp(min=1e-9)
        return h.numpy(), torch.nn.functional.normalize(p, p=2, dim=1).numpy()

    ref_h, ref_p = torch_out(model)
    rows = []
    h, p, _ = trueq_run(lib, None, a.model, 0, 0, ids, mask)
    rows.append(("(a) trueq float32", figures(ref_h, ref_p, h, p, mask)))
    hb, pb, used = trueq_run(lib, None, a.int8, 1, -1, ids, mask)
    assert used == 0
    rows.append(("(b) trueq int8-kept, float32 attention", figures(ref_h, ref_p, hb, pb, mask)))
    h, p, used = trueq_run(lib, None, a.int8, 1, 0, ids, mask)
    assert used == 1
    rows.append(("(c) trueq int8-kept, int8 attention", figures(ref_h, ref_p, h, p, mask)))
    extra = ("(c) against (b): what int8 attention adds", figures(hb, pb, h, p, mask))
    mq = torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    h, p = torch_out(mq)
    rows.append(("(d) torch quantize_dynamic int8", figures(ref_h, ref_p, h, p, mask)))
    print(f"# {a.model}: {len(TEXTS)} texts, {int(mask.sum())} real tokens, "
          f"padded to 128; against float32 transformers")
    print("| run | hidden max abs | token cos worst | token cos mean | sentence cos worst | sentence cos mean "
          "| sentence max abs |")
    print("|---|---|---|---|---|---|---|")
    for name, f in rows + [extra]:
        print(f"| {name} | {f[0]:.4g} | {f[1]:.6f} | {f[2]:.6f} | {f[3]:.6f} | {f[4]:.6f} | {f[5]:.3g} |")


if __name__ == "__main__":
    main()
