"""trueq's MLX output and reader against the real client (venv-mlx: mlx 0.32.4, mlx-lm 0.32.2).

usage: mlx_client.py TRUEQ WORKDIR STORIES_DIR   (TRUEQ_LIBRARY = libtrueq.so, PYTHONPATH = python/)

1. mlx writes, trueq reads: mx.quantize + mx.save_safetensors ("__metadata__": null) of F32/F16/BF16
   matrices at several bits x groups; `trueq inspect --json` names codec, bits, group and the true
   bits per weight (b + 2*S/g), its byte totals add up to the file's size; trueq's decode of every
   tensor equals mx.dequantize (scales widened to float32) exactly. Without config.json the
   4-bit/g64 file is inferred from shapes; the others carry config.json "quantization".
2. trueq writes, mlx reads: `trueq convert --format mlx` of stories260k under HF llama names
   (made here from the llama2.c file: renamed, q/k rows permuted to rotate-half) and of a random
   BF16 Llama (2 layers) at several bits/groups: mx.load + mx.dequantize of every quantized tensor
   equals trueq's decode exactly; scales carry the source dtype; mlx_lm.utils.load_model loads
   the directory and, fed the same ids, its 64 greedy tokens equal `trueq generate --ids` on the
   same directory (trueq reading its own MLX output through the qlayout row); mlx_lm's model is
   run in float32 (set_dtype: BF16 scales, biases and norms widen exactly), as trueq computes.
   trueq runs with --decode-weights: mlx multiplies float32 activations by dequantized weights,
   while trueq's default kernels quantize activations per row as llama.cpp does (docs/kernels.md),
   which moves logits by about 1e-3 and can flip a near-tied greedy choice.
   mlx_lm.convert -q of the same HF stories260k: inspect reports its quantized modules, bytes
   reconciling with the file and mlx_lm's own bits per weight; trueq decodes it as mx.dequantize
   does, generates mlx_lm's greedy tokens from it, and trueq's own 4-bit/g64 conversion holds the
   same tensors bit for bit.
3. An encoder: a random tiny BERT (HF names) converted to MLX loads into a BERT written here
   with mlx.nn, quantized by nn.quantize with the config's group/bits; its mean-pooled
   embeddings of fixed ids match `trueq embed --ids` within 1e-4 (max abs; the two forward
   passes differ in float order and gelu).
Prints "ok - ..." / "not ok - ..." lines; exit 1 on any failure.
"""
import json
from tap import Tap
import os
import subprocess
import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

import trueq

TQ, WORK, STORIES = sys.argv[1], sys.argv[2], sys.argv[3]


T = Tap(TQ)
report, run = T.report, T.run


def f32(a):
    return np.array(a.astype(mx.float32))


SIDE_BITS = {mx.float32: 32, mx.float16: 16, mx.bfloat16: 16}
TQ_DT = {mx.float32: "F32", mx.float16: "F16", mx.bfloat16: "BF16"}


# ---- 1. files made by mlx itself ------------------------------------------------------------
def mlx_made():
    rng = np.random.default_rng(11)
    cases = [(4, 64, mx.bfloat16), (3, 32, mx.float16), (8, 128, mx.float32), (2, 32, mx.bfloat16),
             (5, 64, mx.float32), (6, 128, mx.float16)]
    for k, (bits, g, dt) in enumerate(cases):
        d = os.path.join(WORK, f"mlxmade{k}")
        os.makedirs(d, exist_ok=True)
        tensors, ref = {}, {}
        for name, shape in (("model.a", (48, 256)), ("model.b", (16, 128))):
            w = mx.array(rng.standard_normal(shape).astype(np.float32) * 0.05).astype(dt)
            wq, s, b = mx.quantize(w, group_size=g, bits=bits)
            tensors[name + ".weight"], tensors[name + ".scales"], tensors[name + ".biases"] = wq, s, b
            ref[name + ".weight"] = f32(mx.dequantize(wq, s.astype(mx.float32), b.astype(mx.float32),
                                                      group_size=g, bits=bits))
        tensors["model.norm.weight"] = mx.ones((256,), dtype=dt)
        path = os.path.join(d, "model.safetensors")
        mx.save_safetensors(path, tensors)   # metadata None: "__metadata__" absent/null
        if k:   # the first one has no config: trueq infers 4-bit g64 from the shapes
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump({"model_type": "test", "quantization": {"group_size": g, "bits": bits, "mode": "affine"}}, f)
        tag = f"mx.quantize {bits}-bit g{g} {TQ_DT[dt]}{' (no config)' if not k else ''}"
        js = json.loads(run("inspect", path, "--json"))
        rows = {t["name"]: t for t in js["tensors"]}
        want_bpw = bits + 2 * SIDE_BITS[dt] / g
        ok = all(rows[n]["quantized"] and rows[n]["codec"] == "mlx" + ("" if dt == mx.float32 else "-" + TQ_DT[dt].lower())
                 and rows[n]["bits"] == bits and rows[n]["group"] == g and abs(rows[n]["bits_per_weight"] - want_bpw) < 1e-9
                 for n in ref)
        report(ok, f"{tag}: inspect names codec, bits {bits}, group {g}, {want_bpw:g} bits/weight "
                   f"(got {[(rows[n]['codec'], rows[n]['bits'], rows[n]['group'], rows[n]['bits_per_weight']) for n in ref]})")
        T = js["totals"]
        size = os.path.getsize(path)
        side = sum(tensors[n].nbytes for n in tensors if n.endswith((".scales", ".biases")))
        ok = (T["file_bytes"] == size and T["header_bytes"] + T["padding_bytes"] + T["payload_bytes"] + T["scale_bytes"]
              == size and T["scale_bytes"] == side and T["quantized"] == 2)
        report(ok, f"{tag}: bytes reconcile with the file ({size}: header {T['header_bytes']} + padding "
                   f"{T['padding_bytes']} + payload {T['payload_bytes']} + scales {T['scale_bytes']} (mlx's {side}))")
        with trueq.open(path) as m:
            ok = all(np.array_equal(m[n].numpy(), ref[n]) for n in ref)
        report(ok, f"{tag}: trueq's decode equals mx.dequantize exactly")


# ---- models under HF llama names -------------------------------------------------------------
def stories_hf():
    d = os.path.join(WORK, "stories-hf")
    os.makedirs(d, exist_ok=True)
    p = json.load(open(os.path.join(STORIES, "params.json")))
    src = mx.load(os.path.join(STORIES, "stories260K.safetensors"))
    dim, nh, nkv = p["dim"], p["n_heads"], p["n_kv_heads"]
    hd = dim // nh

    def perm(w, heads):   # Meta's interleaved rotary pairs -> HF rotate-half
        w = np.array(w)
        return mx.array(w.reshape(heads, hd // 2, 2, dim).transpose(0, 2, 1, 3).reshape(heads * hd, dim))

    out = {"model.embed_tokens.weight": src["tok_embeddings.weight"], "model.norm.weight": src["norm.weight"]}
    if "output.weight" in src:
        out["lm_head.weight"] = src["output.weight"]
    names = {"attention_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "attention.wq": "self_attn.q_proj", "attention.wk": "self_attn.k_proj", "attention.wv": "self_attn.v_proj",
             "attention.wo": "self_attn.o_proj", "feed_forward.w1": "mlp.gate_proj", "feed_forward.w2": "mlp.down_proj",
             "feed_forward.w3": "mlp.up_proj"}
    for i in range(p["n_layers"]):
        for a, b in names.items():
            w = src[f"layers.{i}.{a}.weight"]
            if a == "attention.wq":
                w = perm(w, nh)
            elif a == "attention.wk":
                w = perm(w, nkv)
            out[f"model.layers.{i}.{b}.weight"] = w
    mx.save_safetensors(os.path.join(d, "model.safetensors"), out, metadata={"format": "pt"})
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
           "intermediate_size": p["hidden_dim"], "num_hidden_layers": p["n_layers"], "num_attention_heads": nh,
           "num_key_value_heads": nkv, "vocab_size": p["vocab_size"], "max_position_embeddings": p["max_seq_len"],
           "rms_norm_eps": p["norm_eps"], "rope_theta": p["rope_theta"], "tie_word_embeddings": "lm_head.weight" not in out,
           "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    return d


def random_llama():
    d = os.path.join(WORK, "llama-bf16")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(5)
    dim, inter, L, nh, nkv, V = 128, 256, 2, 4, 2, 384
    hd = dim // nh
    w = {}

    def r(*shape, s=0.08):
        return mx.array((rng.standard_normal(shape) * s).astype(np.float32)).astype(mx.bfloat16)

    w["model.embed_tokens.weight"] = r(V, dim, s=1.0)
    w["lm_head.weight"] = r(V, dim, s=0.2)
    w["model.norm.weight"] = mx.ones((dim,), dtype=mx.bfloat16)
    for i in range(L):
        P = f"model.layers.{i}."
        w[P + "input_layernorm.weight"] = mx.ones((dim,), dtype=mx.bfloat16)
        w[P + "post_attention_layernorm.weight"] = mx.ones((dim,), dtype=mx.bfloat16)
        w[P + "self_attn.q_proj.weight"] = r(nh * hd, dim)
        w[P + "self_attn.k_proj.weight"] = r(nkv * hd, dim)
        w[P + "self_attn.v_proj.weight"] = r(nkv * hd, dim)
        w[P + "self_attn.o_proj.weight"] = r(dim, nh * hd)
        w[P + "mlp.gate_proj.weight"] = r(inter, dim)
        w[P + "mlp.up_proj.weight"] = r(inter, dim)
        w[P + "mlp.down_proj.weight"] = r(dim, inter)
    mx.save_safetensors(os.path.join(d, "model.safetensors"), w, metadata={"format": "pt"})
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim, "intermediate_size": inter,
           "num_hidden_layers": L, "num_attention_heads": nh, "num_key_value_heads": nkv, "vocab_size": V,
           "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
           "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    return d


def check_decode(out, tag, side_dt):
    st = os.path.join(out, "model.safetensors")
    arrs, meta = mx.load(st, return_metadata=True)
    cfg = json.load(open(os.path.join(out, "config.json")))
    q = cfg["quantization"]
    ok_meta = meta.get("format") == "mlx" and cfg.get("quantization_config") == q
    report(ok_meta, f"{tag}: metadata format mlx, config.json quantization == quantization_config ({q['bits']}/{q['group_size']})")
    bad, n = [], 0
    with trueq.open(st) as m:
        for name in m.names():
            base = name[:-len(".weight")]
            if base + ".scales" not in arrs:
                continue
            n += 1
            s, b = arrs[base + ".scales"], arrs[base + ".biases"]
            lay = q.get(base, q)
            ref = f32(mx.dequantize(arrs[name], s.astype(mx.float32), b.astype(mx.float32),
                                    group_size=lay["group_size"], bits=lay["bits"]))
            if s.dtype != side_dt or not np.array_equal(m[name].numpy(), ref):
                bad.append(name)
    report(n > 0 and not bad, f"{tag}: mx.load + mx.dequantize of {n} quantized tensors equal trueq's decode, "
                              f"scales {side_dt} (differ: {bad[:3]})")


def greedy(out, ids, steps, tag):
    from mlx_lm.utils import load_model
    model, _ = load_model(__import__("pathlib").Path(out))
    model.set_dtype(mx.float32)   # trueq computes in float32; widening BF16 scales and norms is exact
    seq = list(ids)
    for _ in range(steps):
        logits = model(mx.array([seq]))[0, -1]
        nxt = int(mx.argmax(logits).item())
        if nxt in (1, 2):   # trueq generate stops at BOS/EOS without printing it
            break
        seq.append(nxt)
    idf = os.path.join(WORK, "ids.txt")
    open(idf, "w").write(" ".join(map(str, ids)) + "\n")
    got = [int(x) for x in run("generate", out, "--decode-weights", "--ids", idf, "-n", str(steps), "-q").split()]
    report(got == seq, f"{tag}: mlx_lm's {len(seq) - len(ids)} greedy tokens equal trueq generate's "
                       f"(mlx {seq[len(ids):len(ids) + 12]}..., trueq {got[len(ids):len(ids) + 12]}...)")


def llama_models():
    sd = stories_hf()
    for bits, g in ((4, 64), (8, 32), (3, 32), (6, 64)):
        out = os.path.join(WORK, f"stories-mlx-{bits}-{g}")
        run("convert", sd, "-o", out, "--format", "mlx", "--bits", str(bits), "--granularity", f"group:{g}")
        tag = f"stories260k HF -> mlx {bits}-bit g{g}"
        check_decode(out, tag, mx.float32)
        greedy(out, [1, 403, 407], 64, tag)
    ld = random_llama()
    for bits, g in ((4, 64), (2, 128), (5, 32)):
        out = os.path.join(WORK, f"llama-mlx-{bits}-{g}")
        run("convert", ld, "-o", out, "--format", "mlx", "--bits", str(bits), "--granularity", f"group:{g}")
        tag = f"random BF16 llama -> mlx {bits}-bit g{g}"
        check_decode(out, tag, mx.bfloat16)
        greedy(out, [1, 17, 42, 99], 64, tag)


def mlx_lm_convert():
    """mlx_lm.convert -q of stories260k under HF names (a WordLevel tokenizer.json written here:
    convert insists on a tokenizer) against trueq's reading and trueq's own conversion."""
    from mlx_lm.convert import convert
    from tokenizers import Tokenizer, models, pre_tokenizers
    sd = os.path.join(WORK, "stories-hf")
    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(512)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(os.path.join(sd, "tokenizer.json"))
    json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "t1", "eos_token": "t2", "unk_token": "t0"},
              open(os.path.join(sd, "tokenizer_config.json"), "w"))
    lm = os.path.join(WORK, "stories-mlxlm-4-64")
    convert(sd, mlx_path=lm, quantize=True, q_group_size=64, q_bits=4)
    st = os.path.join(lm, "model.safetensors")
    arrs = mx.load(st)
    js = json.loads(run("inspect", lm, "--json"))
    T = js["totals"]
    nq = sum(k.endswith(".scales") for k in arrs)
    qrows = [t for t in js["tensors"] if t["quantized"]]
    ok = (T["quantized"] == nq == len(qrows) and all((t["codec"], t["bits"], t["group"]) == ("mlx", 4, 64) for t in qrows)
          and T["file_bytes"] == os.path.getsize(st)
          and T["header_bytes"] + T["padding_bytes"] + T["payload_bytes"] + T["scale_bytes"] == T["file_bytes"])
    mlx_bpw = sum(v.nbytes for v in arrs.values()) * 8 / T["weights"]   # mlx_lm's "bits per weight" (its log line)
    tq_bpw = (T["payload_bytes"] + T["scale_bytes"]) * 8 / T["weights"]
    report(ok and abs(mlx_bpw - tq_bpw) < 1e-12,
           f"mlx_lm.convert -q (4-bit g64): inspect finds its {nq} quantized modules, bytes reconcile with the "
           f"{T['file_bytes']}-byte file, data bits per weight {tq_bpw:.3f} = mlx_lm's {mlx_bpw:.3f}")
    check_decode(lm, "mlx_lm.convert output", mx.float32)
    mine = mx.load(os.path.join(WORK, "stories-mlx-4-64", "model.safetensors"))
    same = sorted(mine) == sorted(arrs) and all(mine[k].dtype == arrs[k].dtype and mx.array_equal(mine[k], arrs[k]).item()
                                                 for k in arrs)
    report(same, "stories260k: trueq convert --format mlx 4-bit g64 writes the same tensors, bit for bit, as mlx_lm.convert -q")
    greedy(lm, [1, 403, 407], 64, "mlx_lm.convert output")
    ld = os.path.join(WORK, "llama-bf16")   # BF16 source: scales and biases BF16 in both
    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(384)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(os.path.join(ld, "tokenizer.json"))
    json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "t1", "eos_token": "t2", "unk_token": "t0"},
              open(os.path.join(ld, "tokenizer_config.json"), "w"))
    lm2 = os.path.join(WORK, "llama-mlxlm-4-64")
    convert(ld, mlx_path=lm2, quantize=True, q_group_size=64, q_bits=4, dtype="bfloat16")
    a2 = mx.load(os.path.join(lm2, "model.safetensors"))
    m2 = mx.load(os.path.join(WORK, "llama-mlx-4-64", "model.safetensors"))
    same = sorted(m2) == sorted(a2) and all(m2[k].dtype == a2[k].dtype and mx.array_equal(m2[k], a2[k]).item() for k in a2)
    report(same, "BF16 llama: trueq convert --format mlx 4-bit g64 writes the same tensors (BF16 scales), bit for bit, "
                 "as mlx_lm.convert -q")


# ---- 3. an encoder ---------------------------------------------------------------------------
class Layer(nn.Module):
    def __init__(self, d, inter, heads, eps):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.up, self.down = nn.Linear(d, inter), nn.Linear(inter, d)

    def __call__(self, x):
        B, T, D = x.shape
        h = self.heads

        def split(y):
            return y.reshape(B, T, h, D // h).transpose(0, 2, 1, 3)
        a = mx.fast.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                                 scale=(D // h) ** -0.5)
        x = self.ln1(x + self.o(a.transpose(0, 2, 1, 3).reshape(B, T, D)))
        return self.ln2(x + self.down(nn.gelu(self.up(x))))


class Bert(nn.Module):
    def __init__(self, V, d, inter, L, heads, P, eps):
        super().__init__()
        self.word, self.pos, self.type = nn.Embedding(V, d), nn.Embedding(P, d), nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=eps)
        self.layers = [Layer(d, inter, heads, eps) for _ in range(L)]

    def __call__(self, ids):
        T = ids.shape[1]
        x = self.ln(self.word(ids) + self.pos(mx.arange(T))[None] + self.type(mx.zeros_like(ids)))
        for layer in self.layers:
            x = layer(x)
        return x


def hf_to_mlx_names(n):   # HF BERT names -> the Bert above
    n = n.replace("embeddings.word_embeddings", "word").replace("embeddings.position_embeddings", "pos")
    n = n.replace("embeddings.token_type_embeddings", "type").replace("embeddings.LayerNorm", "ln")
    n = n.replace("encoder.layer.", "layers.").replace("attention.self.query", "q").replace("attention.self.key", "k")
    n = n.replace("attention.self.value", "v").replace("attention.output.dense", "o")
    n = n.replace("attention.output.LayerNorm", "ln1").replace("intermediate.dense", "up")
    return n.replace("output.dense", "down").replace("output.LayerNorm", "ln2")


def encoder():
    d = os.path.join(WORK, "bert")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(3)
    V, D, I, L, H, P, eps = 320, 128, 256, 2, 4, 64, 1e-12

    def r(*shape, s=0.05):
        return mx.array((rng.standard_normal(shape) * s).astype(np.float32))
    w = {"embeddings.word_embeddings.weight": r(V, D, s=0.5), "embeddings.position_embeddings.weight": r(P, D, s=0.2),
         "embeddings.token_type_embeddings.weight": r(2, D, s=0.2),
         "embeddings.LayerNorm.weight": mx.ones((D,)), "embeddings.LayerNorm.bias": mx.zeros((D,))}
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n, (o, k) in {"attention.self.query": (D, D), "attention.self.key": (D, D), "attention.self.value": (D, D),
                          "attention.output.dense": (D, D), "intermediate.dense": (I, D), "output.dense": (D, I)}.items():
            w[p + n + ".weight"], w[p + n + ".bias"] = r(o, k), r(o, s=0.02)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + n + ".weight"], w[p + n + ".bias"] = mx.ones((D,)), mx.zeros((D,))
    mx.save_safetensors(os.path.join(d, "model.safetensors"), w, metadata={"format": "pt"})
    json.dump({"architectures": ["BertModel"], "model_type": "bert", "vocab_size": V, "hidden_size": D,
               "num_hidden_layers": L, "num_attention_heads": H, "intermediate_size": I, "hidden_act": "gelu",
               "max_position_embeddings": P, "type_vocab_size": 2, "layer_norm_eps": eps, "pad_token_id": 0},
              open(os.path.join(d, "config.json"), "w"))
    with open(os.path.join(d, "vocab.txt"), "w") as f:   # a WordPiece vocabulary, so trueq embed finds one
        f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(V - 5)]) + "\n")
    out = os.path.join(WORK, "bert-mlx")
    run("convert", d, "-o", out, "--format", "mlx", "--bits", "8", "--granularity", "group:64")
    cfg = json.load(open(os.path.join(out, "config.json")))
    q = cfg["quantization"]
    model = Bert(V, D, I, L, H, P, eps)
    arrs = mx.load(os.path.join(out, "model.safetensors"))
    mine = {hf_to_mlx_names(k): v for k, v in arrs.items()}
    nn.quantize(model, group_size=q["group_size"], bits=q["bits"],
                class_predicate=lambda path, m: hasattr(m, "to_quantized") and f"{path}.scales" in mine)
    model.load_weights(list(mine.items()), strict=True)
    ids = [2, 17, 250, 9, 33, 101, 3]
    emb = np.array(model(mx.array([ids])).mean(axis=1)[0])
    idf = os.path.join(WORK, "bert-ids.txt")
    open(idf, "w").write(" ".join(map(str, ids)) + "\n")
    js = json.loads(run("embed", out, "--ids", idf, "--pooling", "mean", "--no-normalize", "--json"))
    got = np.array(js["embeddings"][0]["vector"], dtype=np.float32)
    nq = sum(1 for k in arrs if k.endswith(".scales"))
    err = float(np.max(np.abs(got - emb))) if got.shape == emb.shape else float("inf")
    report(nq == 3 + 6 * L and err < 1e-4,
           f"tiny BERT -> mlx 8-bit g64: {nq} quantized modules (embeddings included) load into an mlx.nn-quantized "
           f"BERT; mean-pooled embedding max |mlx - trueq embed| = {err:.2e} (bound 1e-4)")


if __name__ == "__main__":
    for part in (mlx_made, llama_models, mlx_lm_convert, encoder):
        try:
            part()
        except Exception as e:  # noqa: BLE001 (each part reports its own failure)
            report(False, f"{part.__name__}: {type(e).__name__}: {e}")
    print(f"{'FAIL' if T.fails else 'PASS'}: {T.fails} failed")
    sys.exit(T.exit_code())
