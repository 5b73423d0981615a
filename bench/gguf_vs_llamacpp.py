"""trueq's GGUF quantizer next to llama.cpp's, in one run on one machine.

usage: python bench/gguf_vs_llamacpp.py [--build B] [--reps N] [--threads T] [--work DIR]
(the python of tests/py/llama_venv.sh: llama-cpp-python, gguf, numpy)

Inputs: the DistilBERT-base-shaped synthetic model of `trueq synth` (66M
parameters, written as llama.cpp's bert layout) and a synthetic Llama of SmolLM2-135M's shapes (dim 576, 30 layers, 9/3
heads, hidden 1536, vocab 49152, tied embeddings; 134.5M parameters, float32,
with a 49152-token llama2.c tokenizer), written once into --work. trueq
converts its safetensors to GGUF F32 (llama.cpp's input), then for Q8_0 and
Q4_K: `trueq convert --format gguf --type T --threads T` (whole process: map,
quantize, write) and llama.cpp's llama_model_quantize (ftype MOSTLY_Q8_0 /
MOSTLY_Q4_K_M, nthread T) on the F32 GGUF, best of N each, alternating; then
the two outputs are compared tensor by tensor, byte for byte. The ratios are
llama.cpp's time over trueq's (> 1: trueq faster), wall time and CPU time
(user + system of all threads: on a shared, loaded machine the wall time
mostly measures the other load, the CPU time the work).
"""
import argparse, ctypes, json, os, resource, shutil, struct, subprocess, time
import numpy as np
import gguf
import llama_cpp

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "trueq-bench-gguf"))
a = ap.parse_args()
tq = os.path.join(a.build, "trueq")
os.makedirs(a.work, exist_ok=True)
model = os.path.join(a.work, "llama135m")


def write_model(d):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(1)
    dim, hid, L, nh, nkv, V = 576, 1536, 30, 9, 3, 49152
    kv = dim // nh * nkv
    shapes = [("model.embed_tokens.weight", (V, dim))]
    for i in range(L):
        p = "model.layers.%d." % i
        shapes += [(p + "input_layernorm.weight", (dim,)), (p + "self_attn.q_proj.weight", (dim, dim)),
                   (p + "self_attn.k_proj.weight", (kv, dim)), (p + "self_attn.v_proj.weight", (kv, dim)),
                   (p + "self_attn.o_proj.weight", (dim, dim)), (p + "post_attention_layernorm.weight", (dim,)),
                   (p + "mlp.gate_proj.weight", (hid, dim)), (p + "mlp.up_proj.weight", (hid, dim)),
                   (p + "mlp.down_proj.weight", (dim, hid))]
    shapes += [("model.norm.weight", (dim,))]
    head, off = {}, 0
    for n, s in shapes:
        nb = 4 * int(np.prod(s))
        head[n] = {"dtype": "F32", "shape": list(s), "data_offsets": [off, off + nb]}
        off += nb
    h = json.dumps(head).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for n, s in shapes:
            x = (1 + 0.1 * rng.standard_normal(s)) if len(s) == 1 else rng.standard_normal(s) * 0.04
            f.write(x.astype("<f4").tobytes())
    json.dump({"hidden_size": dim, "intermediate_size": hid, "num_hidden_layers": L, "num_attention_heads": nh,
               "num_key_value_heads": nkv, "vocab_size": V, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
               "rope_theta": 100000.0, "tie_word_embeddings": True}, open(os.path.join(d, "config.json"), "w"))
    with open(os.path.join(d, "tokenizer.bin"), "wb") as f:   # llama2.c layout
        pieces = [b"<unk>", b"<s>", b"</s>"] + [b"<0x%02X>" % i for i in range(256)]
        pieces += [b"t%d" % i for i in range(V - len(pieces))]
        f.write(struct.pack("<i", max(len(p) for p in pieces)))
        for i, p in enumerate(pieces):
            f.write(struct.pack("<fi", -float(i), len(p)) + p)


if not os.path.exists(os.path.join(model, "model.safetensors")):
    write_model(model)
bert = os.path.join(a.work, "distilbert")
if not os.path.exists(os.path.join(bert, "model.safetensors")):
    subprocess.run([tq, "synth", bert], check=True, capture_output=True)


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_self():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def trueq(src, t, out):
    shutil.rmtree(out, ignore_errors=True)
    c0, t0 = cpu_children(), time.perf_counter()
    subprocess.run([tq, "convert", src, "--format", "gguf", "--type", t, "--threads", str(a.threads), "-o", out],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, cpu_children() - c0


def llama(src, dst, ft):
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ft
    p.nthread = a.threads
    c0, t0 = cpu_self(), time.perf_counter()
    if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(p)) != 0:
        raise SystemExit("llama_model_quantize failed")
    return time.perf_counter() - t0, cpu_self() - c0


print("%d threads each, best of %d (alternating); page cache warm" % (a.threads, a.reps))
print()
print("| model | --type | trueq wall (s) | llama.cpp wall (s) | wall llama.cpp / trueq | trueq CPU (s) | llama.cpp CPU (s) | CPU llama.cpp / trueq | output MB | tensors byte-identical |")
print("|---|---|---|---|---|---|---|---|---|---|")
for label, src in (("DistilBERT-base (synth, 66M)", bert), ("Llama, SmolLM2-135M shapes", model)):
    tag = os.path.basename(src)
    trueq(src, "F32", os.path.join(a.work, tag + "_f32"))
    f32 = os.path.join(a.work, tag + "_f32", "model.gguf")
    with open(f32, "rb") as f:            # page cache warm for both sides
        while f.read(1 << 24):
            pass
    for t, ft in (("Q8_0", 7), ("Q4_K", 15)):
        mine, ref = os.path.join(a.work, tag + "_trueq_" + t), os.path.join(a.work, tag + "_llamacpp_%s.gguf" % t)
        bt = bl = ct = cl = 1e9
        for _ in range(a.reps):
            w, c = trueq(src, t, mine)
            bt, ct = min(bt, w), min(ct, c)
            w, c = llama(f32, ref, ft)
            bl, cl = min(bl, w), min(cl, c)
        x, y = gguf.GGUFReader(os.path.join(mine, "model.gguf")), gguf.GGUFReader(ref)
        same = len(x.tensors) == len(y.tensors) and all(
            p.name == q.name and p.tensor_type == q.tensor_type and p.data.tobytes() == q.data.tobytes()
            for p, q in zip(x.tensors, y.tensors))
        print("| %s | %s | %.3f | %.3f | %.2fx | %.3f | %.3f | %.2fx | %.1f | %s (%d tensors) |" %
              (label, t, bt, bl, bl / bt, ct, cl, cl / ct, os.path.getsize(ref) / 1e6, "yes" if same else "NO",
               len(x.tensors)), flush=True)
