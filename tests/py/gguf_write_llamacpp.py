"""llama.cpp as the judge of trueq's GGUF writer (run by tests/cli/gguf_llamacpp.sh).

usage: gguf_write_llamacpp.py TRUEQ MODEL WORKDIR

1. bit-exactness: trueq writes MODEL as F32 GGUF; for every --type trueq
   writes, llama.cpp's own quantizer (llama_model_quantize, default params, no
   imatrix) quantizes that F32 file, trueq converts MODEL with --type; the two
   files must hold the same tensors in the same order with the same ggml types,
   shapes and byte-identical data, and the same KVs (keys, order, types,
   values) except trueq's provenance key trueq.converter;
2. llama.cpp loads trueq's F32 file and its first 64 greedy tokens from BOS,
   detokenised, equal `trueq generate --steps 64`'s text;
3. llama.cpp loads trueq's Q8_0, Q4_0 and Q4_K files; teacher-forced over the
   F32 model's 256-token greedy continuation, next-token top-1 agreement with
   the F32 model must be >= 99%; mean KL(F32 || quantized) is reported.
Exit 0 on success, 1 on a mismatch (each printed).
"""
import ctypes, os, subprocess, sys
import numpy as np
import gguf
import llama_cpp

TYPES = [("F32", 0), ("F16", 1), ("BF16", 32), ("Q8_0", 7), ("Q4_0", 2), ("Q4_1", 3), ("Q5_0", 8), ("Q5_1", 9),
         ("Q2_K", 10), ("Q3_K", 12), ("Q4_K", 15), ("Q5_K", 17), ("Q6_K", 18)]
trueq, model, work = sys.argv[1], sys.argv[2], sys.argv[3]
fails = []


def convert(t):
    out = os.path.join(work, "trueq_" + t)
    r = subprocess.run([trueq, "convert", model, "--format", "gguf", "--type", t, "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("trueq convert --type %s failed: %s" % (t, r.stderr))
    return os.path.join(out, "model.gguf")


def kvs(rd):
    out = []
    for f in rd.fields.values():
        if f.name.startswith("GGUF."):
            continue
        val = [bytes(f.parts[i]) for i in f.data]
        out.append((f.name, tuple(f.types), tuple(val)))
    return out


def compare(t, mine, ref):
    a, b = gguf.GGUFReader(mine), gguf.GGUFReader(ref)
    ka = [k for k in kvs(a) if k[0] != "trueq.converter"]
    kb = [k for k in kvs(b) if k[0] != "trueq.converter"]
    if ka != kb:
        da, db = dict((k[0], k) for k in ka), dict((k[0], k) for k in kb)
        diff = [k for k in sorted(set(da) | set(db)) if da.get(k) != db.get(k)]
        order = [k[0] for k in ka] != [k[0] for k in kb]
        fails.append("%s: KVs differ: %s%s" % (t, diff[:5], " (order)" if order else ""))
    if [x.name for x in a.tensors] != [x.name for x in b.tensors]:
        fails.append("%s: tensor lists differ" % t)
        return
    nbad = 0
    for x, y in zip(a.tensors, b.tensors):
        if x.tensor_type != y.tensor_type or list(x.shape) != list(y.shape):
            fails.append("%s: %s is %s %s in trueq's file, %s %s in llama.cpp's" %
                         (t, x.name, x.tensor_type.name, list(x.shape), y.tensor_type.name, list(y.shape)))
            nbad += 1
        elif bytes(x.data.tobytes()) != bytes(y.data.tobytes()):
            fails.append("%s: %s (%s): data differ" % (t, x.name, x.tensor_type.name))
            nbad += 1
    types = sorted(set(x.tensor_type.name for x in a.tensors))
    print("bit-exact %-5s %d tensors (%s): %s" % (t, len(a.tensors), " ".join(types), "OK" if not nbad else "%d differ" % nbad))


f32 = convert("F32")
for t, ft in TYPES:
    mine = convert(t) if t != "F32" else f32
    ref = os.path.join(work, "llamacpp_%s.gguf" % t)
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ft
    p.nthread = 1
    if llama_cpp.llama_model_quantize(f32.encode(), ref.encode(), ctypes.byref(p)) != 0:
        fails.append("%s: llama_model_quantize failed" % t)
        continue
    compare(t, mine, ref)


def load(path):
    return llama_cpp.Llama(model_path=path, n_ctx=512, logits_all=True, verbose=False, n_threads=1, seed=1)


def text_of(llm, ids):
    return llm.detokenize(ids).decode("utf-8", "replace")


# 2. greedy tokens on F32 vs trueq generate
ref = load(f32)
bos = ref.token_bos()
ref.eval([bos])
greedy = []
for _ in range(255):
    nxt = int(np.argmax(ref.scores[ref.n_tokens - 1]))
    if nxt == ref.token_eos():
        break
    greedy.append(nxt)
    ref.eval([nxt])
ref_logits = np.array(ref.scores[:ref.n_tokens], dtype=np.float64)
g = subprocess.run([trueq, "generate", model, "--steps", "64", "--quiet"], capture_output=True, text=True)
if g.returncode != 0:
    sys.exit("trueq generate failed: %s" % g.stderr)
mine_text = g.stdout.rstrip("\n")
llama_text = text_of(ref, greedy[:64])
if mine_text.strip() != llama_text.strip():
    fails.append("F32 greedy: trueq generate %r, llama.cpp %r" % (mine_text[:120], llama_text[:120]))
else:
    print("greedy F32: llama.cpp's first 64 tokens equal trueq generate's (%d chars)" % len(llama_text))

# 3. teacher-forced agreement on quantized files
seq = [bos] + greedy
for t in ("Q8_0", "Q4_0", "Q4_K"):
    q = load(os.path.join(work, "trueq_%s" % t, "model.gguf"))
    q.eval(seq)
    ql = np.array(q.scores[:len(seq)], dtype=np.float64)
    n = min(len(ql), len(ref_logits))
    agree = float(np.mean(np.argmax(ql[:n], 1) == np.argmax(ref_logits[:n], 1)))

    def logsm(x):
        x = x - x.max(1, keepdims=True)
        return x - np.log(np.exp(x).sum(1, keepdims=True))
    lp, lq = logsm(ref_logits[:n]), logsm(ql[:n])
    kl = float(np.mean(np.sum(np.exp(lp) * (lp - lq), 1)))
    print("llama.cpp on trueq's %-5s: top-1 agreement with F32 %.4f over %d positions, mean KL %.6f nats" % (t, agree, n, kl))
    if agree < 0.99:
        fails.append("%s: top-1 agreement %.4f < 0.99" % (t, agree))
    del q

for f in fails:
    print("FAIL", f)
sys.exit(1 if fails else 0)
