#!/usr/bin/env python3
"""Generate WeightWatcher reference fixtures for trueq's spectral tests.

Usage:  python3 tests/spectral/gen_fixtures.py [--models DIR] [--out FILE]

Runs WeightWatcher 0.7.5.5 (with powerlaw 1.5, the versions
WEIGHTWATCHER.md names) and writes tests/spectral/ww_fixtures.json, which
the C test tests/test_spectral_ww.c reads without Python.

The weight matrices are not stored: they are rebuilt, bit for bit, from a
tiny integer generator that tests/test_spectral_ww.c implements too
(splitmix64; every value is formed with IEEE operations that round the same
way in numpy and in C: + - * / sqrt and a cast to float32). Each fixture
carries an FNV-1a hash of the float32 bytes so the C side can prove it
rebuilt the same matrix.

WeightWatcher and its dependencies are installed with pip into a virtual
environment outside the repository ($TRUEQ_WW_VENV, default
~/.cache/trueq/venv-ww), created with the system python3 (Debian's, which
has numpy). The script re-executes itself inside that environment.

WeightWatcher is run on its CPU path (no torch: weightwatcher then uses
scipy.linalg.svd, LAPACK gesdd, in float64), in its state-dict mode
(a dict of "<name>.weight" -> numpy float32 array). WeightWatcher's
state-dict iterator compares tensor types with torch.Tensor, so without
torch the module gets a stand-in `torch` name holding a dummy Tensor class;
nothing else of torch is used on this path.
"""
import json
import os
import subprocess
import sys

WW_VERSION = "0.7.5.5"
POWERLAW_VERSION = "1.5"
HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("TRUEQ_WW_VENV", os.path.expanduser("~/.cache/trueq/venv-ww"))


def ensure_venv():
    """Create the venv with weightwatcher if needed and re-exec inside it."""
    py = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(py):
        base = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        subprocess.check_call([base, "-m", "venv", "--system-site-packages", VENV])
    probe = subprocess.run([py, "-c", "import weightwatcher, powerlaw; print(weightwatcher.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != WW_VERSION:
        subprocess.check_call([py, "-m", "pip", "install", "-q",
                               f"weightwatcher=={WW_VERSION}", f"powerlaw=={POWERLAW_VERSION}"])
    os.execv(py, [py] + sys.argv)


# ---- the shared integer generator (mirrored in tests/test_spectral_ww.c) ----
M64 = (1 << 64) - 1


class Gen:
    def __init__(self, seed):
        self.s = seed & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def u(self):
        """Uniform on [0, 1): 24 random bits times 2^-24 (exact in float64)."""
        return float(self.next() >> 40) * (1.0 / 16777216.0)


def make_matrix(kind, rows, cols, seed, scale):
    """Row-major float32 matrix. Must match gen_matrix() in test_spectral_ww.c."""
    import numpy as np
    g = Gen(seed)
    out = np.empty(rows * cols, dtype=np.float64)
    if kind == "gauss":        # Irwin-Hall(4) - 2: variance 1/3
        for i in range(rows * cols):
            a = g.u(); b = g.u(); c = g.u(); d = g.u()
            out[i] = (((a + b) + c) + d - 2.0) * scale
    elif kind == "cauchy":     # ratio of uniforms: tail index 1
        for i in range(rows * cols):
            a = g.u(); b = g.u()
            out[i] = (a - 0.5) / (b + 2.0 ** -25) * scale
    elif kind == "student2":   # sign * 1/sqrt(u): tail index 2
        for i in range(rows * cols):
            a = g.u(); b = g.u()
            sgn = 1.0 if a < 0.5 else -1.0
            out[i] = sgn / float(np.sqrt(b + 2.0 ** -25)) * scale
    elif kind == "rank5int":   # exact rank 5: small-integer factors
        r = 5
        A = [[float(int(g.next() % 7) - 3) for _ in range(r)] for _ in range(rows)]
        B = [[float(int(g.next() % 7) - 3) for _ in range(cols)] for _ in range(r)]
        for i in range(rows):
            for j in range(cols):
                acc = 0.0
                for k in range(r):
                    acc = acc + A[i][k] * B[k][j]
                out[i * cols + j] = acc * scale
    elif kind == "spike1":     # tiny noise plus one rank-1 spike
        us = [g.u() - 0.5 for _ in range(rows)]
        vs = [g.u() - 0.5 for _ in range(cols)]
        for i in range(rows):
            for j in range(cols):
                noise = g.u() - 0.5
                out[i * cols + j] = us[i] * vs[j] + noise * scale
    else:
        raise ValueError(kind)
    return out.astype(np.float32).reshape(rows, cols)


def make_samples(kind, n, seed):
    """1-D Pareto samples, ascending. Must match gen_samples() in the C test."""
    import numpy as np
    g = Gen(seed)
    x = []
    for _ in range(n):
        u = 1.0 - g.u()        # (0, 1]
        if kind == "pareto2":      # P(X > x) = 1/x: density exponent alpha = 2
            x.append(1.0 / u)
        elif kind == "pareto3":    # P(X > x) = 1/x^2: alpha = 3
            x.append(1.0 / float(np.sqrt(u)))
        elif kind == "pareto1.5":  # P(X > x) = x^-0.5: alpha = 1.5
            x.append((1.0 / u) * (1.0 / u))
        else:
            raise ValueError(kind)
    return np.sort(np.array(x, dtype=np.float64))


def fnv1a(b):
    h = 0xcbf29ce484222325
    for c in b:
        h ^= c
        h = (h * 0x100000001b3) & M64
    return "%016x" % h


MATRICES = [
    # name, kind, rows, cols, seed, scale
    ("gauss_256x128", "gauss", 256, 128, 1, 1.0),
    ("gauss_t_128x256", "gauss", 128, 256, 1, 1.0),
    ("gauss_small_scale_120x80", "gauss", 120, 80, 2, 0.05),
    ("cauchy_200x100", "cauchy", 200, 100, 3, 0.01),
    ("student2_300x60", "student2", 300, 60, 4, 0.1),
    ("square_96x96", "gauss", 96, 96, 5, 0.3),
    ("edge_rank5_exact_100x50", "rank5int", 100, 50, 6, 1.0),
    ("edge_tiny_scale_64x16", "gauss", 64, 16, 7, 1e-4),
    ("edge_one_spike_40x12", "spike1", 40, 12, 8, 1e-6),
    ("edge_min_evals_10x30", "gauss", 10, 30, 9, 1.0),
]

SAMPLES = [
    ("pareto2_n2000", "pareto2", 2000, 11, 2.0),
    ("pareto3_n1500", "pareto3", 1500, 12, 3.0),
    ("pareto1.5_n1000", "pareto1.5", 1000, 13, 1.5),
]

COLUMNS = ["alpha", "alpha_weighted", "log_norm", "log_spectral_norm", "norm", "spectral_norm",
           "stable_rank", "log_alpha_norm", "D", "xmin", "xmax", "sigma", "num_pl_spikes",
           "num_evals", "rank_loss", "weak_rank_loss", "lambda_max", "sv_max", "sv_min",
           "entropy", "matrix_rank", "warning", "status", "N", "M", "Q"]


def clean(v):
    import numpy as np
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if v != v:
            return None
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return v
    return str(v)


def row_dict(row):
    return {c: clean(row[c]) if c in row else None for c in COLUMNS}


def run_ww(state):
    import logging
    import types
    import weightwatcher as ww
    import weightwatcher.weightwatcher as wwm
    wwm.torch = types.SimpleNamespace(Tensor=type("NoTorchTensor", (), {}))
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    w = ww.WeightWatcher(model=state)
    details = w.analyze()
    return details, w.get_summary(details)


def wwfit_index(evals):
    """xmin index chosen by WeightWatcher's own fitter on the fitted list."""
    import numpy as np
    from weightwatcher.WW_powerlaw import WWFit
    x = np.sort(evals[evals > 1e-5])
    if len(x) < 2:
        return -1, None
    f = WWFit(x)
    return int(np.argmin(f.Ds)), f


def main():
    ensure_venv()
    import numpy as np
    import scipy
    import scipy.linalg
    import weightwatcher
    args = sys.argv[1:]
    out = os.path.join(HERE, "ww_fixtures.json")
    models = os.environ.get("TRUEQ_MODELS", os.path.join(HERE, "..", "..", "..", "shared", "models"))
    if not os.path.isdir(models):
        models = "/work/shared/models"
    while args:
        a = args.pop(0)
        if a == "--out":
            out = args.pop(0)
        elif a == "--models":
            models = args.pop(0)
        else:
            sys.exit("usage: gen_fixtures.py [--models DIR] [--out FILE]")

    fx = {"generator": "tests/spectral/gen_fixtures.py",
          "weightwatcher": weightwatcher.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
          "matrices": [], "samples": [], "models": []}
    for name, kind, rows, cols, seed, scale in MATRICES:
        W = make_matrix(kind, rows, cols, seed, scale)
        details, summary = run_ww({name + ".weight": W})
        assert len(details) == 1, (name, len(details))
        row = details.iloc[0]
        sv = scipy.linalg.svd(W.astype(np.float64), compute_uv=False)
        idx, f = wwfit_index(np.sort(sv * sv))
        if f is not None and row["status"] == "success":
            assert f.alpha == row["alpha"], (name, f.alpha, row["alpha"])
        fx["matrices"].append({"name": name, "kind": kind, "rows": rows, "cols": cols, "seed": seed,
                               "scale": scale, "fnv1a_f32": fnv1a(W.astype("<f4").tobytes()),
                               "xmin_index": idx, "details": row_dict(row)})
        print(f"{name}: alpha={row['alpha']} D={row['D']} status={row['status']}", file=sys.stderr)

    from weightwatcher.WW_powerlaw import WWFit
    for name, kind, n, seed, true_alpha in SAMPLES:
        x = make_samples(kind, n, seed)
        f = WWFit(x)
        i = int(np.argmin(f.Ds))
        fx["samples"].append({"name": name, "kind": kind, "n": n, "seed": seed, "true_alpha": true_alpha,
                              "sum": float(np.sum(x)), "xmin_index": i, "alpha": float(f.alpha),
                              "D": float(f.D), "sigma": float(f.sigma), "xmin": float(f.xmin)})

    st = os.path.join(models, "stories260k", "stories260K.safetensors")
    if os.path.exists(st):
        from safetensors.numpy import load_file
        state = load_file(st)
        details, summary = run_ww(state)
        fx["models"].append({"name": "stories260k", "file": "stories260k/stories260K.safetensors",
                             "layers": [dict(row_dict(r), name=str(r["name"]) + ".weight")
                                        for _, r in details.iterrows()],
                             "summary": {k: clean(v) for k, v in summary.items()}})
    else:
        print(f"note: {st} not found; no model fixture", file=sys.stderr)

    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(fx, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, out)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
