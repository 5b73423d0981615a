#!/usr/bin/env python3
"""Checks for tests/cli/spectrum_cli.sh (standard library only).

Each subcommand prints nothing and exits 0 when the check holds; otherwise
it prints why and exits 1.
"""
import csv
import json
import math
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print(msg)
    sys.exit(1)


def rel(a, b):
    return abs(a - b) / (abs(b) if b else 1.0)


def ww_vs_csv(fixtures, csv_path, tol=1e-9):
    """Every analysed row of our CSV matches WeightWatcher's details for stories260k."""
    fx = json.load(open(fixtures))["models"][0]
    ww = {r["name"]: r for r in fx["layers"]}
    rows = list(csv.DictReader(open(csv_path)))
    seen = 0
    for r in rows:
        if r["status"] == "skipped":
            if not r["reason"]:
                fail(f"{r['name']}: skipped without a reason")
            continue
        w = ww.get(r["name"])
        if w is None:
            fail(f"{r['name']}: analysed but WeightWatcher skipped it")
        seen += 1
        for c in ["alpha", "D", "sigma", "xmin", "xmax", "alpha_weighted", "log_norm", "norm", "spectral_norm",
                  "log_spectral_norm", "stable_rank", "log_alpha_norm", "lambda_max", "sv_max", "sv_min", "entropy"]:
            if rel(float(r[c]), w[c]) > tol:
                fail(f"{r['name']}: {c} {r[c]} vs WeightWatcher {w[c]}")
        for c in ["num_pl_spikes", "num_evals", "rank_loss", "weak_rank_loss", "matrix_rank", "N", "M"]:
            if int(r[c]) != int(w[c]):
                fail(f"{r['name']}: {c} {r[c]} vs WeightWatcher {w[c]}")
        if r["warning"] != w["warning"]:
            fail(f"{r['name']}: warning {r['warning']!r} vs {w['warning']!r}")
    if seen != len(ww):
        fail(f"{seen} analysed rows, WeightWatcher has {len(ww)}")


def summary_vs_ww(fixtures, json_path, tol=1e-9):
    fx = json.load(open(fixtures))["models"][0]["summary"]
    s = json.load(open(json_path))["runs"][0]["summary"]
    for k, v in fx.items():
        if rel(s[k], v) > tol:
            fail(f"summary {k}: {s[k]} vs WeightWatcher {v}")


def study(json_path, csv_path, nlabels):
    """The study JSON/CSV are consistent: deltas, means, shares, correlation."""
    d = json.load(open(json_path))
    runs = d["runs"]
    if len(runs) != nlabels:
        fail(f"{len(runs)} runs, want {nlabels}")
    base = {l["name"]: l for l in runs[0]["layers"] if l["status"] == "ok"}
    rows = {r["name"]: r for r in csv.DictReader(open(csv_path))}
    for run in runs[1:]:
        lab = run["label"]
        ok = [l for l in run["layers"] if l["status"] == "ok"]
        an = [l for l in run["layers"] if l["status"] != "skipped"]
        share = sum(1 for l in ok if 2 <= l["alpha"] <= 6) / len(an)
        if rel(run["study"]["share_alpha_2_6"], share) > 1e-12:
            fail(f"{lab}: share {run['study']['share_alpha_2_6']} vs {share}")
        mean = sum(l["alpha"] for l in an) / len(an)
        if rel(run["study"]["mean_alpha"], mean) > 1e-12:
            fail(f"{lab}: mean alpha {run['study']['mean_alpha']} vs {mean}")
        pairs = [(base[l["name"]]["alpha"], l["alpha"]) for l in ok if l["name"] in base]
        n = len(pairs)
        mx = sum(p[0] for p in pairs) / n
        my = sum(p[1] for p in pairs) / n
        cov = sum((p[0] - mx) * (p[1] - my) for p in pairs)
        vx = sum((p[0] - mx) ** 2 for p in pairs)
        vy = sum((p[1] - my) ** 2 for p in pairs)
        r = cov / math.sqrt(vx * vy)
        if abs(run["study"]["corr_alpha_with_orig"] - r) > 1e-9:
            fail(f"{lab}: corr {run['study']['corr_alpha_with_orig']} vs {r}")
        for l in ok:
            row = rows[l["name"]]
            if rel(float(row[f"alpha_{lab}"]), l["alpha"]) > 1e-15:
                fail(f"{l['name']}: CSV alpha_{lab} {row[f'alpha_{lab}']} vs JSON {l['alpha']}")
            if l["name"] in base:
                delta = l["alpha"] - base[l["name"]]["alpha"]
                if abs(float(row[f"delta_alpha_{lab}"]) - delta) > 1e-12:
                    fail(f"{l['name']}: delta {row[f'delta_alpha_{lab}']} vs {delta}")


def corr_at_least(json_path, label, lo):
    for run in json.load(open(json_path))["runs"]:
        if run["label"] == label:
            c = run["study"]["corr_alpha_with_orig"]
            if not c >= lo:
                fail(f"{label}: corr {c} < {lo}")
            return
    fail(f"no run {label}")


def same_alphas(json_a, label_a, json_b, label_b, tol):
    def get(p, lab):
        for run in json.load(open(p))["runs"]:
            if run["label"] == lab:
                return {l["name"]: l for l in run["layers"] if l["status"] != "skipped"}
        fail(f"{p}: no run {lab}")
    a, b = get(json_a, label_a), get(json_b, label_b)
    if set(a) != set(b):
        fail(f"layer sets differ: {sorted(set(a) ^ set(b))[:5]}")
    for k in a:
        if rel(a[k]["alpha"], b[k]["alpha"]) > tol or a[k]["xmin_index"] != b[k]["xmin_index"]:
            fail(f"{k}: alpha {a[k]['alpha']} vs {b[k]['alpha']}")


def svg_alpha(svg_path, json_path):
    """Well-formed SVG; one series per run with one point per fitted layer."""
    root = ET.parse(svg_path).getroot()
    if root.tag != SVG + "svg":
        fail(f"root element {root.tag}")
    series = [g for g in root.iter(SVG + "g") if g.get("class") == "series"]
    runs = json.load(open(json_path))["runs"]
    if [g.get("data-label") for g in series] != [r["label"] for r in runs]:
        fail(f"series {[g.get('data-label') for g in series]} vs runs {[r['label'] for r in runs]}")
    for g, r in zip(series, runs):
        pts = [float(c.get("data-alpha")) for c in g.iter(SVG + "circle")]
        want = [l["alpha"] for l in r["layers"] if l["status"] == "ok"]
        if len(pts) != len(want) or any(rel(p, w) > 1e-5 for p, w in zip(pts, want)):
            fail(f"series {r['label']}: {len(pts)} points vs {len(want)} fitted layers")


def svg_esd(svg_path, json_path, run_label, layer):
    root = ET.parse(svg_path).getroot()
    groups = {g.get("class"): g for g in root.iter(SVG + "g")}
    for c in ("esd", "fit", "xmin"):
        if c not in groups:
            fail(f"no <g class={c}>")
    for run in json.load(open(json_path))["runs"]:
        if run["label"] != run_label:
            continue
        l = [x for x in run["layers"] if x["name"] == layer][0]
        if rel(float(groups["xmin"].get("data-xmin")), l["xmin"]) > 1e-9:
            fail(f"xmin {groups['xmin'].get('data-xmin')} vs {l['xmin']}")
        if rel(float(groups["fit"].get("data-alpha")), l["alpha"]) > 1e-9:
            fail(f"alpha {groups['fit'].get('data-alpha')} vs {l['alpha']}")
        n = sum(int(r.get("data-count")) for r in groups["esd"].iter(SVG + "rect"))
        if n != l["num_evals"] - l["weak_rank_loss"] and n > l["num_evals"]:
            fail(f"histogram holds {n} eigenvalues")
        if len(list(groups["fit"].iter(SVG + "polyline"))) != 1:
            fail("no fitted power-law polyline")
        return
    fail(f"no run {run_label}")


def write_only_1d(path):
    """A valid safetensors file holding only 1-D tensors."""
    import struct
    hdr = {"a.bias": {"dtype": "F32", "shape": [16], "data_offsets": [0, 64]},
           "norm.weight": {"dtype": "F32", "shape": [16], "data_offsets": [64, 128]}}
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + struct.pack("<32f", *([1.0] * 32)))


def write_with_nan(path):
    """Two 2-D tensors, the second with a NaN; values from a fixed LCG."""
    import struct
    vals, x = [], 12345
    for _ in range(2 * 40 * 16):
        x = (1103515245 * x + 12345) % 2 ** 31
        vals.append(x / 2 ** 31 - 0.5)
    vals[40 * 16 + 100] = float("nan")
    hdr = {"good.weight": {"dtype": "F32", "shape": [40, 16], "data_offsets": [0, 2560]},
           "bad.weight": {"dtype": "F32", "shape": [40, 16], "data_offsets": [2560, 5120]}}
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + struct.pack("<%df" % len(vals), *vals))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"ww_vs_csv": ww_vs_csv, "summary_vs_ww": summary_vs_ww, "svg_alpha": svg_alpha, "svg_esd": svg_esd,
          "write_only_1d": write_only_1d, "write_with_nan": write_with_nan, "corr_at_least": lambda p, lab, lo: corr_at_least(p, lab, float(lo)),
          "study": lambda j, c, n: study(j, c, int(n)),
          "same_alphas": lambda a, la, b, lb, t: same_alphas(a, la, b, lb, float(t))}[cmd]
    fn(*args)


if __name__ == "__main__":
    main()
