"""GGUF -> GGUF conversion judged by gguf-py and llama.cpp (run by tests/cli/gguf_g2g.sh).

usage: gguf_g2g_llamacpp.py TRUEQ INPUT.gguf WORKDIR

1. `trueq convert INPUT --format gguf --type F32`: every tensor of the output,
   in llama.cpp's order and under the same name, holds exactly gguf-py's
   dequantization of the input tensor (bit for bit); every tokenizer.*
   KV of the input is in the output with the same type and value (arrays
   intact), and so is every llama.* KV the input has;
2. for Q8_0, Q4_0 and Q4_K: llama.cpp's quantizer (llama_model_quantize,
   default parameters) quantizing trueq's F32 GGUF and trueq converting the
   same F32 GGUF give the same tensors, types, shapes and byte-identical data,
   and trueq converting INPUT directly gives those same tensors;
3. llama.cpp loads trueq's Q8_0/Q4_0/Q4_K files (converted from INPUT) and,
   teacher-forced over prompt + trueq's greedy continuation on the F32 file
   (`trueq generate --ids`: trueq's own forward pass), its next-token top-1
   agrees with trueq's at the continuation's positions; the figures are
   printed and agreement must reach NEED.
Exit 0 on success, 1 on a mismatch (each printed).
"""
import ctypes, os, subprocess, sys
import numpy as np
import gguf
from gguf.quants import dequantize
import llama_cpp

trueq, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
TYPES = [("Q8_0", 7), ("Q4_0", 2), ("Q4_K", 15)]
NEED = {"Q8_0": 0.95, "Q4_0": 0.55, "Q4_K": 0.75}   # measured: 1.00, 0.67, 0.86
PROMPTS = ["The capital of France is", "Once upon a time, a little robot", "def fibonacci(n):"]
STEPS = 24
fails = []


def convert(t, model, tag):
    out = os.path.join(work, tag + t)
    r = subprocess.run([trueq, "convert", model, "--format", "gguf", "--type", t, "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("trueq convert %s --type %s failed: %s" % (model, t, r.stderr))
    return os.path.join(out, "model.gguf")


def kvs(rd):
    return dict((f.name, (tuple(f.types), tuple(bytes(f.parts[i]) for i in f.data)))
                for f in rd.fields.values() if not f.name.startswith("GGUF."))


# 1. F32: the input's dequantized values and its metadata
f32 = convert("F32", src, "g2g_")
a, b = gguf.GGUFReader(src), gguf.GGUFReader(f32)
ka, kb = kvs(a), kvs(b)
copied = [k for k in ka if k.startswith("tokenizer.") or k.startswith("llama.")]
bad = [k for k in copied if ka[k] != kb.get(k)]
if bad:
    fails.append("F32: KVs not carried over: %s" % bad[:5])
print("F32: %d tokenizer.* / llama.* KVs of the input carried over: %s" % (len(copied), "OK" if not bad else "%d differ" % len(bad)))
ta = dict((t.name, t) for t in a.tensors)
nbad = 0
if sorted(ta) != sorted(t.name for t in b.tensors):
    fails.append("F32: tensor names differ from the input's")
for t in b.tensors:
    x = ta.get(t.name)
    if x is None:
        continue
    want = np.ascontiguousarray(dequantize(x.data, x.tensor_type), dtype=np.float32)
    got = np.ascontiguousarray(t.data, dtype=np.float32)
    if t.tensor_type.name != "F32" or list(t.shape) != list(x.shape) or want.tobytes() != got.tobytes():
        nbad += 1
        fails.append("F32: %s (%s in the input) differs" % (t.name, x.tensor_type.name))
print("F32: %d tensors == gguf-py's dequantization of the input: %s" % (len(b.tensors), "OK" if not nbad else "%d differ" % nbad))

# 2. the same F32 GGUF input: trueq vs llama.cpp's quantizer
for t, ft in TYPES:
    mine = convert(t, f32, "f32_")
    ref = os.path.join(work, "llamacpp_%s.gguf" % t)
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ft
    if llama_cpp.llama_model_quantize(f32.encode(), ref.encode(), ctypes.byref(p)) != 0:
        fails.append("%s: llama_model_quantize failed" % t)
        continue
    x, y = gguf.GGUFReader(mine), gguf.GGUFReader(ref)
    if [u.name for u in x.tensors] != [u.name for u in y.tensors]:
        fails.append("%s: tensor lists differ" % t)
        continue
    nbad = 0
    for u, v in zip(x.tensors, y.tensors):
        if u.tensor_type != v.tensor_type or list(u.shape) != list(v.shape) or u.data.tobytes() != v.data.tobytes():
            nbad += 1
            fails.append("%s: %s: trueq %s, llama.cpp %s%s" % (t, u.name, u.tensor_type.name, v.tensor_type.name,
                                                                "" if u.tensor_type != v.tensor_type else " (data differ)"))
    types = sorted(set(u.tensor_type.name for u in x.tensors))
    print("bit-exact %-5s from trueq's F32 GGUF, %d tensors (%s): %s" % (t, len(x.tensors), " ".join(types),
                                                                        "OK" if not nbad else "%d differ" % nbad))

    # trueq from the Q4_1 input directly: the same tensors as from its F32 GGUF
    direct = gguf.GGUFReader(convert(t, src, "g2g_"))
    same = [u.name for u, v in zip(direct.tensors, x.tensors)
            if u.name != v.name or u.tensor_type != v.tensor_type or u.data.tobytes() != v.data.tobytes()]
    if same or len(direct.tensors) != len(x.tensors):
        fails.append("%s: trueq from the Q4_1 input differs from trueq from its F32 GGUF: %s" % (t, same[:3]))

# 3. llama.cpp runs trueq's quantized files; top-1 vs trueq's forward on F32
tok = llama_cpp.Llama(model_path=f32, vocab_only=True, verbose=False)
seqs = []
for i, pr in enumerate(PROMPTS):
    ids = tok.tokenize(pr.encode(), add_bos=True)
    fn = os.path.join(work, "prompt%d.ids" % i)
    open(fn, "w").write(" ".join(map(str, ids)))
    r = subprocess.run([trueq, "generate", f32, "--ids", fn, "--steps", str(STEPS), "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("trueq generate failed: %s" % r.stderr)
    out = [int(w) for w in r.stdout.split()]
    if out[:len(ids)] != ids or len(out) <= len(ids):
        sys.exit("trueq generate --ids: unexpected output %r" % r.stdout[:200])
    seqs.append((len(ids), out))
del tok
for t, _ in TYPES:
    q = llama_cpp.Llama(model_path=os.path.join(work, "g2g_" + t, "model.gguf"), n_ctx=256, logits_all=True,
                        verbose=False, seed=1)
    hit = n = 0
    for np_, seq in seqs:
        q.reset()
        q.eval(seq)
        lg = np.array(q.scores[:len(seq)], dtype=np.float64)
        for pos in range(np_ - 1, len(seq) - 1):   # logits at pos predict seq[pos + 1], trueq's greedy choice
            hit += int(np.argmax(lg[pos]) == seq[pos + 1])
            n += 1
    agree = hit / n
    print("llama.cpp on trueq's %-5s (from the Q4_1 input): top-1 agreement with trueq's F32 forward %.4f (%d/%d positions, %d prompts)"
          % (t, agree, hit, n, len(seqs)))
    if agree < NEED[t]:
        fails.append("%s: top-1 agreement %.4f < %.2f" % (t, agree, NEED[t]))
    del q

for f in fails:
    print("FAIL", f)
sys.exit(1 if fails else 0)
