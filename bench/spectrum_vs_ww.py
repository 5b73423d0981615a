#!/usr/bin/env python3
"""trueq spectrum vs WeightWatcher 0.7.5.5 on the same files, same machine.

Usage: python3 bench/spectrum_vs_ww.py [--build DIR] [--workdir DIR] [--reps N]
                                       [--ww-reps N] [--skip-distilbert]

Workloads (written once into --workdir, default /tmp/trueq-bench-spectrum):
  matrix768x3072  one 768x3072 float32 matrix ("layer.weight") in a safetensors file
  distilbert      the synthetic DistilBERT-base from `trueq synth` (39 matrices,
                  including the 30522x768 word embedding)

Timings (wall clock):
  trueq end to end      `trueq spectrum FILE --json`, a fresh process each time
                        (fastest of the repetitions; the median is in results.json)
  trueq analysis        bench_spectrum model FILE: in-process tq_spectral_analyze,
                        fastest of the repetitions
  WW end to end         a fresh python: import weightwatcher, load the file, analyze()
                        (the faster of the two OpenBLAS settings below)
  WW analysis           analyze() alone, in one python process (file already
                        loaded), fastest of the repetitions
The fastest repetition is the figure least disturbed by other work on a shared
machine; it is taken for both sides.
trueq analyses layers on parallel threads (one per CPU). WeightWatcher is run
twice, with scipy's OpenBLAS on all CPUs and on one thread, and credited with
the faster of the two.

Numbers: every default details column of WW against trueq's JSON (max relative
difference, xmin identical, integer columns equal).

WeightWatcher is installed into a venv outside the repository, as
tests/spectral/gen_fixtures.py does ($TRUEQ_WW_VENV, default ~/.cache/trueq/venv-ww).
"""
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import time

WW_VERSION = "0.7.5.5"
POWERLAW_VERSION = "1.5"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.environ.get("TRUEQ_WW_VENV", os.path.expanduser("~/.cache/trueq/venv-ww"))

WW_PRELUDE = """
import logging, types, time
t0 = time.time()
import weightwatcher as ww, weightwatcher.weightwatcher as wwm
wwm.torch = types.SimpleNamespace(Tensor=type("NoTorchTensor", (), {}))
logging.getLogger("weightwatcher").setLevel(logging.ERROR)
from safetensors.numpy import load_file
"""


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(py):
        base = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        subprocess.check_call([base, "-m", "venv", "--system-site-packages", VENV])
    probe = subprocess.run([py, "-c", "import weightwatcher, powerlaw, safetensors; print(weightwatcher.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != WW_VERSION:
        subprocess.check_call([py, "-m", "pip", "install", "-q", f"weightwatcher=={WW_VERSION}",
                               f"powerlaw=={POWERLAW_VERSION}", "safetensors"])
    os.execv(py, [py] + sys.argv)


def write_matrix(path, rows, cols, seed=7):
    """A trained-looking float32 matrix: Gaussian bulk plus a few heavy columns."""
    import numpy as np
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols)).astype(np.float32) * 0.04
    w[:, :16] *= rng.pareto(2.5, 16).astype(np.float32) + 1
    hdr = {"layer.weight": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [0, w.nbytes]}}
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + w.astype("<f4").tobytes())
    os.replace(path + ".tmp", path)


def timed(cmd, reps):
    ts, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        ts.append(time.perf_counter() - t)
        if p.returncode != 0:
            sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
        out = p.stdout
    return statistics.median(ts), min(ts), out


def ww_run(path, reps, blas_threads):
    """One fresh python: import weightwatcher, load the file, analyze() reps times.

    @return (end-to-end seconds of one import+load+analyze, fastest analyze()
    seconds, details DataFrame). blas_threads None = OpenBLAS's default (all
    CPUs), else OPENBLAS_NUM_THREADS for scipy's SVD."""
    import pandas as pd
    csv = os.path.join(os.path.dirname(path), f"ww_details_{blas_threads or 'all'}.csv")
    code = WW_PRELUDE + f"""
import json, sys
state = load_file({path!r})
ts = []
for _ in range({reps}):
    t = time.perf_counter()
    d = ww.WeightWatcher(model=state).analyze()
    ts.append(time.perf_counter() - t)
d.to_csv({csv!r}, index=False)
print(json.dumps(ts))
"""
    env = dict(os.environ)
    if blas_threads:
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"WeightWatcher failed: {p.stderr[-2000:]}")
    ts = json.loads(p.stdout.strip().splitlines()[-1])
    return wall - sum(ts[1:]), min(ts), pd.read_csv(csv, keep_default_na=False,
                                                                    na_values=["", "NaN", "nan"])


COLS_REAL = ["alpha", "alpha_weighted", "D", "sigma", "xmin", "xmax", "norm", "log_norm", "spectral_norm",
             "log_spectral_norm", "stable_rank", "log_alpha_norm", "lambda_max", "sv_max", "sv_min", "entropy"]
COLS_INT = ["num_pl_spikes", "num_evals", "rank_loss", "weak_rank_loss", "matrix_rank", "N", "M"]


def compare(details, tq_json):
    ours = {l["name"]: l for l in json.loads(tq_json)["runs"][0]["layers"] if l["status"] != "skipped"}
    worst = {c: 0.0 for c in COLS_REAL}
    mismatches = []
    for _, r in details.iterrows():
        name = str(r["name"]) + ".weight"
        l = ours.pop(name, None)
        if l is None:
            mismatches.append(f"{name}: not analysed by trueq")
            continue
        for c in COLS_REAL:
            a, b = l[c], float(r[c])
            d = abs(a - b) / (abs(b) if b else 1.0)
            worst[c] = max(worst[c], d)
        for c in COLS_INT:
            if int(l[c]) != int(r[c]):
                mismatches.append(f"{name}: {c} {l[c]} vs {r[c]}")
        if abs(l["xmin"] - float(r["xmin"])) > 1e-12 * abs(float(r["xmin"])):
            mismatches.append(f"{name}: different xmin")
        ww_warn = r["warning"] if isinstance(r["warning"], str) else ""   # pandas reads '' back as NaN
        if l["warning"] != ww_warn:
            mismatches.append(f"{name}: warning {l['warning']!r} vs {r['warning']!r}")
    mismatches += [f"{n}: analysed by trueq only" for n in ours]
    return len(details), worst, mismatches


def main():
    ensure_venv()
    args = sys.argv[1:]
    build = os.path.join(ROOT, "build")
    work = "/tmp/trueq-bench-spectrum"
    reps, ww_reps, skip_distil = 5, 3, False
    while args:
        a = args.pop(0)
        if a == "--build": build = args.pop(0)
        elif a == "--workdir": work = args.pop(0)
        elif a == "--reps": reps = int(args.pop(0))
        elif a == "--ww-reps": ww_reps = int(args.pop(0))
        elif a == "--skip-distilbert": skip_distil = True
        else: sys.exit(__doc__)
    trueq = os.path.join(build, "trueq")
    bench = os.path.join(build, "bench_spectrum")
    for f in (trueq, bench):
        if not os.path.exists(f):
            sys.exit(f"{f} not found: build first (bench/spectrum_vs_ww.sh does)")
    os.makedirs(work, exist_ok=True)
    workloads = []
    mat = os.path.join(work, "matrix768x3072", "model.safetensors")
    if not os.path.exists(mat):
        write_matrix(mat, 768, 3072)
    workloads.append(("768x3072 matrix", mat, reps, ww_reps))
    if not skip_distil:
        distil = os.path.join(work, "distilbert")
        if not os.path.exists(os.path.join(distil, "model.safetensors")):
            subprocess.check_call([trueq, "synth", distil], stdout=subprocess.DEVNULL)
        workloads.append(("DistilBERT-base (synthetic, 39 matrices)", os.path.join(distil, "model.safetensors"),
                          max(1, reps // 2), max(1, ww_reps // 2)))

    import numpy, scipy, weightwatcher
    cpu = ""
    try:
        cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
    except (OSError, IndexError):
        pass
    res = {"machine": {"cpu": cpu, "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
                       "python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
                       "weightwatcher": weightwatcher.__version__}, "workloads": []}
    for label, path, r_tq, r_ww in workloads:
        print(f"== {label}", file=sys.stderr)
        tq_med, tq_min, tq_out = timed([trueq, "spectrum", path, "--json"], r_tq)
        # WeightWatcher with its default OpenBLAS threads and with one thread:
        # on a busy machine OpenBLAS's spinning threads can slow it down a lot,
        # so WW is credited with the faster of the two.
        e_all, a_all, details = ww_run(path, r_ww, None)
        b_med, b_min, b_out = timed([bench, "model", path, "0", str(r_tq)], 1)
        bench_auto = json.loads(b_out.splitlines()[0])
        e_one, a_one, _ = ww_run(path, r_ww, 1)
        ww_e2e, ww_med = min(e_all, e_one), min(a_all, a_one)
        n, worst, mism = compare(details, tq_out)
        w = {"workload": label, "file": path, "layers": n,
             "trueq_end_to_end_s": tq_min, "trueq_end_to_end_median_s": tq_med, "trueq_analysis_s": bench_auto["min_s"],
             "ww_end_to_end_s": ww_e2e, "ww_analysis_s": ww_med,
             "ww_by_blas_threads": {"all": {"end_to_end_s": e_all, "analysis_s": a_all},
                                    "1": {"end_to_end_s": e_one, "analysis_s": a_one}},
             "speedup_end_to_end": ww_e2e / tq_min, "speedup_analysis": ww_med / bench_auto["min_s"],
             "max_rel_diff": worst, "mismatches": mism}
        res["workloads"].append(w)
        print(json.dumps(w, indent=1), file=sys.stderr)
    res["machine"]["loadavg_end"] = os.getloadavg()
    out = os.path.join(work, "results.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=1)

    m = res["machine"]
    print(f"machine: {m['cpu']} ({m['cpus']} CPUs), load average {m['loadavg_start'][0]:.1f} -> "
          f"{m['loadavg_end'][0]:.1f}; weightwatcher {m['weightwatcher']}, numpy {m['numpy']}, scipy {m['scipy']}\n")
    print("| workload | trueq end to end | WW end to end | speed-up | trueq analysis | WW analyze() | speed-up |"
          " max rel. diff alpha / D / sigma | xmin & counts |")
    print("|---|---|---|---|---|---|---|---|---|")
    for w in res["workloads"]:
        d = w["max_rel_diff"]
        print(f"| {w['workload']} | {w['trueq_end_to_end_s']:.3f} s | {w['ww_end_to_end_s']:.2f} s | "
              f"{w['speedup_end_to_end']:.1f}x | {w['trueq_analysis_s']:.3f} s | {w['ww_analysis_s']:.3f} s | "
              f"{w['speedup_analysis']:.1f}x | {d['alpha']:.1e} / {d['D']:.1e} / {d['sigma']:.1e} | "
              f"{'identical' if not w['mismatches'] else '; '.join(w['mismatches'][:3])} |")
    print(f"\n(results: {out})")
    bad = any(w["mismatches"] or max(w["max_rel_diff"][c] for c in ("alpha", "D", "sigma", "xmin")) > 1e-9
              for w in res["workloads"])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
