#!/usr/bin/env python3
"""Which steps of transformers' float32 llama make its error (a study, not run by ctest).

usage: gguf_f32_parts.py FILE.gguf < prompts     (prompts as for gguf_run_logits.py)

Loads the GGUF as gguf_run_logits.py does (OpenBLAS under torch, tied LM
head) and reruns the model with its own forward in float64, where each of
seven steps can instead be computed exactly as transformers 4.46.3 computes
it in float32 (its inputs rounded to float32, the same torch calls, the result
cast back up):
  lin   the q/k/v/o, gate/up/down products (F.linear: the BLAS's sgemm)
  head  the LM head
  norm  RMSNorm: x.float(), x * rsqrt(mean(x^2) + eps), weight * x
  rope  inv_freq, angles, cos/sin and q*cos + rotate_half(q)*sin in float32
  attn  eager attention: QK^T / sqrt(d) + mask, softmax(float32), times V
  act   silu(gate) * up
  res   the two residual adds per layer
With all seven in float32 the forward must equal transformers' logits bit for
bit (checked). For each step the table gives max |only that step in float32 -
float64| (its share of transformers' error) and max |all but that step in
float32 - transformers| (what copying every other step exactly would leave),
over all positions and at each prompt's position 0. docs/formats/gguf.md
(last section) has one run's numbers.
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_run_logits as ref  # noqa: E402 (pins OpenBLAS before torch)

torch, np = ref.torch, ref.np
F = torch.nn.functional
STEPS = ["lin", "head", "norm", "rope", "attn", "act", "res"]


def forward(sd32, sd64, cfg, ids, f32):
    """Logits [T, vocab] in float64; the steps named in f32 as transformers' float32."""
    T, D, H, KV = len(ids), cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads
    HD, eps, theta = D // H, cfg.rms_norm_eps, cfg.rope_theta

    def lin(x, name, step="lin"):
        if step in f32:
            return F.linear(x.float(), sd32[name]).double()
        return F.linear(x, sd64[name])

    def norm(x, name):
        if "norm" in f32:
            h = x.float()
            h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
            return (sd32[name] * h).double()
        return sd64[name] * (x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    pos = torch.arange(T)
    if "rope" in f32:
        inv = 1.0 / (theta ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD))
        fr = (inv[None, :, None] @ pos[None, None, :].float()).transpose(1, 2)[0]
    else:
        fr = pos.double()[:, None] * theta ** (-torch.arange(0, HD, 2, dtype=torch.float64) / HD)[None, :]
    emb = torch.cat((fr, fr), -1)
    cos, sin = emb.cos(), emb.sin()

    def rot(x):
        rh = torch.cat((-x[..., HD // 2:], x[..., :HD // 2]), -1)
        if "rope" in f32:
            return (x.float() * cos + rh.float() * sin).double()
        return x * cos + rh * sin

    def res(a, b):
        return (a.float() + b.float()).double() if "res" in f32 else a + b

    mask = torch.full((T, T), float("-inf")).triu(1)
    x = sd64["model.embed_tokens.weight"][ids][None]
    for li in range(cfg.num_hidden_layers):
        p = "model.layers.%d." % li
        h = norm(x, p + "input_layernorm.weight")
        q = rot(lin(h, p + "self_attn.q_proj.weight").view(1, T, H, HD).transpose(1, 2))
        k = rot(lin(h, p + "self_attn.k_proj.weight").view(1, T, KV, HD).transpose(1, 2))
        v = lin(h, p + "self_attn.v_proj.weight").view(1, T, KV, HD).transpose(1, 2)
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        if "attn" in f32:
            a = torch.matmul(q.float(), k.float().transpose(2, 3)) / math.sqrt(HD) + mask
            o = torch.matmul(F.softmax(a, dim=-1, dtype=torch.float32), v.float()).double()
        else:
            a = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(HD) + mask.double()
            o = torch.matmul(F.softmax(a, dim=-1), v)
        x = res(x, lin(o.transpose(1, 2).reshape(1, T, D), p + "self_attn.o_proj.weight"))
        h = norm(x, p + "post_attention_layernorm.weight")
        g, u = lin(h, p + "mlp.gate_proj.weight"), lin(h, p + "mlp.up_proj.weight")
        a = (F.silu(g.float()) * u.float()).double() if "act" in f32 else F.silu(g) * u
        x = res(x, lin(a, p + "mlp.down_proj.weight"))
    return lin(norm(x, "model.norm.weight"), "model.embed_tokens.weight", "head")[0].numpy()


def main():
    path = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    print("torch's sgemm from %s" % (ref.BLAS or "the system's libblas.so.3"))
    model = ref.AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                     torch_dtype=torch.float32)
    if "output.weight" not in {t.name for t in ref.GGUFReader(path).tensors}:
        model.lm_head.weight = model.model.embed_tokens.weight
    model.eval()
    cfg = model.config
    assert cfg._attn_implementation == "eager" and cfg.hidden_act == "silu" and not cfg.attention_bias
    sd32 = {k: v.detach() for k, v in model.state_dict().items()}
    sd64 = {k: v.double() for k, v in sd32.items()}
    prompts = [[int(t) for t in line.split()] for line in sys.stdin if line.split()]
    with torch.no_grad():
        hf = [model(torch.tensor([p])).logits[0].double().numpy() for p in prompts]
        run = lambda f32: [forward(sd32, sd64, cfg, p, f32) for p in prompts]  # noqa: E731
        f64, all32 = run(set()), run(set(STEPS))
    same = all(np.array_equal(a, b) for a, b in zip(all32, hf))
    print("all seven steps in float32 == transformers' logits bit for bit: %s" % same)

    def dist(a, b):   # (max over all positions, max over position 0 of each prompt)
        d = [np.abs(x - y).max(-1) for x, y in zip(a, b)]
        return max(v.max() for v in d), max(v[0] for v in d)

    print("transformers vs float64: max %.2g, at position 0 %.2g" % dist(hf, f64))
    print("%-5s %24s %28s" % ("step", "only it f32 - f64", "all but it f32 - transformers"))
    with torch.no_grad():
        for s in STEPS:
            print("%-5s %14.2g %9.2g %18.2g %9.2g" % ((s,) + dist(run({s}), f64) + dist(run(set(STEPS) - {s}), hf)))


if __name__ == "__main__":
    main()
