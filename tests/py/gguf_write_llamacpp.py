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
3. llama.cpp loads trueq's Q8_0, Q4_0 and Q4_K files; teacher-forced over a
   TinyStories-style text (the one `trueq compare-decoder` uses) and over the
   F32 model's greedy continuation, next-token top-1 agreement with the F32
   model and mean KL(F32 || quantized) are reported; agreement on the text
   must reach NEED (99% for Q8_0; the 4-bit files of this 260K-parameter
   model, byte-identical to llama.cpp's own, reach about 96% (Q4_K) and 88%
   (Q4_0), so those bounds guard against regressions only);
4. a synthetic Llama with Hugging Face names whose widths are multiples of 256
   (so the K-quant kernels and the Q4_K_M/Q3_K_M/Q2_K mixtures really apply;
   8 layers, GQA 4, an untied output), bit-exact as in 1.;
5. a small DistilBERT (`trueq synth`, widths 256/512) in llama.cpp's bert
   layout: bit-exact as in 1.; llama.cpp loads the F32 file as an embedding
   model, tokenises three texts to trueq's ids and its mean-pooled embeddings
   equal `trueq embed`'s within EMB_TOL (max |difference| over max |value|;
   llama.cpp's GELU goes through an fp16 table, hence not bit-exact).
Exit 0 on success, 1 on a mismatch (each printed).
"""
import ctypes, json, os, subprocess, sys
import numpy as np
import gguf
import llama_cpp

TYPES = [("F32", 0), ("F16", 1), ("BF16", 32), ("Q8_0", 7), ("Q4_0", 2), ("Q4_1", 3), ("Q5_0", 8), ("Q5_1", 9),
         ("Q2_K", 10), ("Q3_K", 12), ("Q4_K", 15), ("Q5_K", 17), ("Q6_K", 18)]
trueq, model, work = sys.argv[1], sys.argv[2], sys.argv[3]
NEED = {"Q8_0": 0.99, "Q4_K": 0.95, "Q4_0": 0.85}
fails = []
STORY = ("Once upon a time, there was a little girl named Mia. She had a red kite that she loved very much. "
         "Every day, Mia went to the park with her mom to fly the kite. One windy day, the kite flew up high "
         "and got stuck in a big tree. Mia was sad and started to cry. A kind boy named Sam saw her and said, "
         "\"Don't cry, I can help you.\" Sam climbed the tree and got the kite down. Mia smiled and said, "
         "\"Thank you, Sam! You are a good friend.\" From that day on, Mia and Sam played in the park together "
         "and flew the red kite every day. They were very happy.")


def convert(t, model=model, tag=""):
    out = os.path.join(work, "trueq_" + tag + t)
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


def bit_exact(model, tag):
    f32 = convert("F32", model, tag)
    for t, ft in TYPES:
        mine = convert(t, model, tag) if t != "F32" else f32
        ref = os.path.join(work, "llamacpp_%s%s.gguf" % (tag, t))
        p = llama_cpp.llama_model_quantize_default_params()
        p.ftype = ft
        p.nthread = 1
        if llama_cpp.llama_model_quantize(f32.encode(), ref.encode(), ctypes.byref(p)) != 0:
            fails.append("%s%s: llama_model_quantize failed" % (tag, t))
            continue
        compare(tag + t, mine, ref)
    return f32


def synthetic_llama(d):
    """8 layers, dim 256, 4 heads / 1 kv head (GQA 4), hidden 512, vocab 512, untied."""
    import json, shutil
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    dim, hid, L, kv = 256, 512, 8, 64
    ts = [("model.embed_tokens.weight", rng.standard_normal((512, dim)) * 0.05)]
    for i in range(L):
        p = "model.layers.%d." % i
        ts += [(p + "input_layernorm.weight", 1 + 0.1 * rng.standard_normal(dim)),
               (p + "self_attn.q_proj.weight", rng.standard_normal((dim, dim)) * 0.06),
               (p + "self_attn.k_proj.weight", rng.standard_normal((kv, dim)) * 0.06),
               (p + "self_attn.v_proj.weight", rng.standard_normal((kv, dim)) * 0.06),
               (p + "self_attn.o_proj.weight", rng.standard_normal((dim, dim)) * 0.06),
               (p + "post_attention_layernorm.weight", 1 + 0.1 * rng.standard_normal(dim)),
               (p + "mlp.gate_proj.weight", rng.standard_normal((hid, dim)) * 0.06),
               (p + "mlp.up_proj.weight", rng.standard_normal((hid, dim)) * 0.06),
               (p + "mlp.down_proj.weight", rng.standard_normal((dim, hid)) * 0.04)]
    ts += [("model.norm.weight", 1 + 0.1 * rng.standard_normal(dim)), ("lm_head.weight", rng.standard_normal((512, dim)) * 0.05)]
    np.savez(os.path.join(d, "weights.npz"), **{n: x.astype(np.float32) for n, x in ts})   # trueq reads .npz
    json.dump({"hidden_size": dim, "intermediate_size": hid, "num_hidden_layers": L, "num_attention_heads": 4,
               "num_key_value_heads": 1, "vocab_size": 512, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
               "rope_theta": 10000.0, "tie_word_embeddings": False}, open(os.path.join(d, "config.json"), "w"))
    shutil.copy(os.path.join(os.path.dirname(model), "tok512.bin"), d)
    return d


f32 = bit_exact(model, "")


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
def logits_of(llm, seq):
    llm.reset()
    llm.eval(seq)
    return np.array(llm.scores[:len(seq)], dtype=np.float64)


def logsm(x):
    x = x - x.max(1, keepdims=True)
    return x - np.log(np.exp(x).sum(1, keepdims=True))


story = ref.tokenize(STORY.encode(), add_bos=True)
seqs = {"story": story, "greedy": [bos] + greedy}
refs = {k: logits_of(ref, v) for k, v in seqs.items()}
for t in ("Q8_0", "Q4_0", "Q4_K"):
    q = load(os.path.join(work, "trueq_%s" % t, "model.gguf"))
    for k, seq in seqs.items():
        ql, rl = logits_of(q, seq), refs[k]
        agree = float(np.mean(np.argmax(ql, 1) == np.argmax(rl, 1)))
        lp, lq = logsm(rl), logsm(ql)
        kl = float(np.mean(np.sum(np.exp(lp) * (lp - lq), 1)))
        print("llama.cpp on trueq's %-5s (%-6s %3d positions): top-1 agreement with F32 %.4f, mean KL %.6f nats" %
              (t, k, len(seq), agree, kl))
        need = NEED[t]
        if k == "story" and agree < need:
            fails.append("%s: top-1 agreement %.4f < %.2f on the story" % (t, agree, need))
    del q

# 4. K-quants and mixtures on widths that are multiples of 256
bit_exact(synthetic_llama(os.path.join(work, "synth_llama")), "synth_")

# 5. BERT family: DistilBERT in llama.cpp's bert layout
EMB_TOL = 2e-3
bert = os.path.join(work, "distilbert")
subprocess.run([trueq, "synth", bert, "--layers", "2", "--dim", "256", "--hidden", "512", "--heads", "4", "--vocab", "2048"],
               check=True, capture_output=True)
bf32 = bit_exact(bert, "bert_")
texts = ["the cat sat on the mat", "a kind boy named sam saw her", "they were very happy"]
emb = llama_cpp.Llama(model_path=bf32, embedding=True, verbose=False, n_ctx=512, pooling_type=1, n_threads=1)
r = subprocess.run([trueq, "embed", bert, "--json"] + texts, capture_output=True, text=True)
if r.returncode != 0:
    sys.exit("trueq embed failed: %s" % r.stderr)
mine = json.loads(r.stdout)["embeddings"]
worst = 0.0
for t, m in zip(texts, mine):
    ids = emb.tokenize(t.encode(), add_bos=True, special=True)
    if ids != m["ids"]:
        fails.append("bert: llama.cpp tokenises %r as %s, trueq as %s" % (t, ids, m["ids"]))
    a, b = np.array(emb.embed(t, normalize=False), dtype=np.float64), np.array(m["vector"], dtype=np.float64)
    worst = max(worst, float(np.max(np.abs(a - b)) / np.max(np.abs(b))))
print("bert F32: llama.cpp embeddings of %d texts vs trueq embed: max |diff| / max |value| = %.2e (tolerance %.0e)" %
      (len(texts), worst, EMB_TOL))
if worst > EMB_TOL:
    fails.append("bert: embeddings differ by %.2e > %.0e" % (worst, EMB_TOL))

for f in fails:
    print("FAIL", f)
sys.exit(1 if fails else 0)
