"""safetensors files from every writer, read by trueq (issue #11.4).

  make-mlx DIR   (venv-mlx)  mx.save_safetensors without metadata (it writes
                             "__metadata__": null) and with {"format": "mlx"},
                             F32/F16/BF16/int tensors; safetensors.numpy save_file
  make-hf DIR    (venv-hf)   safetensors.torch save_file (BF16 too); transformers
                             save_pretrained of a tiny tied-embedding Llama in BF16,
                             sharded (model.safetensors.index.json) and whole
  check DIR      (venv-mlx, TRUEQ_LIBRARY, PYTHONPATH=python/)
                             every file/dir under DIR opened with trueq: the names
                             are the writer's, and each tensor's float32 values
                             equal the writer's own (saved beside as NAME.npz)
Each writer stores what it wrote as float32 in an .npz beside its output.
Prints "N passed, M failed"; exit 1 on a failure.
"""
import os
import sys

import numpy as np


def expect(path, tensors):
    np.savez(path + ".expect.npz", **{k.replace(".", "\x1f"): v for k, v in tensors.items()})


def make_mlx(d):
    import mlx.core as mx
    from safetensors.numpy import save_file
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 5)).astype(np.float32)
    t = {"w.f32": mx.array(a), "w.f16": mx.array(a).astype(mx.float16), "w.bf16": mx.array(a).astype(mx.bfloat16),
         "i.i32": mx.array(np.arange(6, dtype=np.int32).reshape(2, 3)), "s.scalar": mx.array(np.float32(2.5))}
    want = {k: np.array(v.astype(mx.float32)) for k, v in t.items()}
    p = os.path.join(d, "mx_nometa.safetensors")
    mx.save_safetensors(p, t)
    expect(p, want)
    p = os.path.join(d, "mx_meta.safetensors")
    mx.save_safetensors(p, t, metadata={"format": "mlx"})
    expect(p, want)
    n = {"a": a, "b": a.astype(np.float16), "c": np.arange(4, dtype=np.uint8)}
    p = os.path.join(d, "st_numpy.safetensors")
    save_file(n, p)
    expect(p, {k: v.astype(np.float32) for k, v in n.items()})


def make_hf(d):
    import torch
    from safetensors.torch import save_file
    import transformers as tf
    torch.manual_seed(3)
    a = torch.randn(4, 6)
    t = {"x.f32": a, "x.bf16": a.to(torch.bfloat16), "x.f16": a.to(torch.float16), "x.i64": torch.arange(5)}
    p = os.path.join(d, "st_torch.safetensors")
    save_file(t, p)
    expect(p, {k: v.float().numpy() for k, v in t.items()})
    cfg = tf.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)
    m = tf.LlamaForCausalLM(cfg).to(torch.bfloat16)
    # what save_pretrained keeps: one copy of the tied embedding
    sd = {k: v.float().numpy() for k, v in m.state_dict().items() if k != "lm_head.weight"}
    for name, shard in (("hf_sharded", "8KB"), ("hf_whole", "10GB")):
        out = os.path.join(d, name)
        m.save_pretrained(out, max_shard_size=shard, safe_serialization=True)
        expect(out, sd)


def check(d):
    import trueq
    passed = failed = 0
    for f in sorted(os.listdir(d)):
        if not f.endswith(".expect.npz"):
            continue
        target = os.path.join(d, f[: -len(".expect.npz")])
        want = {k.replace("\x1f", "."): v for k, v in np.load(os.path.join(d, f)).items()}
        bad = []
        try:
            with trueq.open(target) as m:
                names = set(m.names())
                if names != set(want):
                    bad.append("names differ: trueq has %s, the writer %s" % (sorted(names - set(want)),
                                                                              sorted(set(want) - names)))
                for k in sorted(names & set(want)):
                    got = m[k].numpy()
                    if got.shape != want[k].shape or got.tobytes() != want[k].tobytes():
                        bad.append("%s: values differ" % k)
                fmt = m.format
        except trueq.TrueqError as e:
            bad.append("trueq refused it: %s" % e)
            fmt = "?"
        if bad:
            failed += 1
            print("FAIL", os.path.basename(target), "; ".join(bad))
        else:
            passed += 1
            print("ok", os.path.basename(target), fmt, len(want), "tensors")
    if passed + failed == 0:
        print("no fixtures in", d)
        failed = 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    mode, d = sys.argv[1], sys.argv[2]
    sys.exit({"make-mlx": make_mlx, "make-hf": make_hf, "check": check}[mode](d) or 0)
