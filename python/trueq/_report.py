"""convert, inspect, verify and synth: the CLI's --json figures as dicts, from library calls."""
import ctypes as C
import os

from ._lib import ConvertOptions, DTYPE_COUNT, Error, SynthOptions, lib, s, u64
from ._model import Model, check, fail

_SCHEMES = {"symmetric": 1, "sym": 1, "affine": 2, "asymmetric": 2}


def _dtype_bytes(arr):
    return {s(lib.tq_dtype_name(d)): int(arr[d]) for d in range(1, DTYPE_COUNT) if arr[d]}


def _ledger(model):
    err = Error()
    led = lib.tq_ledger_create(model._ptr(), C.byref(err))
    if not led:
        fail(err)
    return led


def _ledger_dict(model, led):
    """The ledger as `trueq inspect --json` reports it."""
    rows = []
    for i in range(lib.tq_ledger_count(led)):
        r = lib.tq_ledger_row_at(led, i).contents
        t = r.t.contents
        row = {"name": s(t.name), "shape": [int(t.shape[k]) for k in range(t.ndim)],
               "stored_dtype": s(lib.tq_dtype_name(t.dtype)), "quantized": bool(t.quantized),
               "simulated": bool(t.simulated)}
        if t.quantized or t.simulated:
            ci = lib.tq_codec_by_id(t.q.codec)
            row.update(codec=s(ci.contents.name) if ci else "?", bits=t.q.bits, granularity=s(lib.tq_gran_name(t.q.gran)),
                       group=int(t.q.group), original_dtype=s(lib.tq_dtype_name(t.orig_dtype)))
        # GGUF: every tensor's ggml type; a block type's block size and bytes
        gn = s(lib.tq_ggml_type_name(t.q.ggml_type)) if t.quantized and t.q.ggml_type else \
            s(lib.tq_dtype_name(t.dtype)) if model.format == "gguf" else None
        if gn:
            blk = int(t.q.group) if t.quantized else 1
            row.update(ggml_type=gn, block=blk, block_bytes=int(r.payload_bytes) // (int(t.numel) // blk) if t.numel else 0)
        row.update(numel=int(t.numel), payload_bytes=int(r.payload_bytes), scale_bytes=int(r.aux_bytes),
                   bits_per_weight=float("%.9g" % r.bits_per_weight), fake_quant=bool(r.fake),
                   distinct_values=int(r.distinct), note=s(r.note))
        rows.append(row)
    T = lib.tq_ledger_totals_get(led).contents
    totals = {"file_bytes": T.file_bytes, "header_bytes": T.header_bytes, "padding_bytes": T.padding_bytes,
              "payload_bytes": T.payload_bytes, "scale_bytes": T.aux_bytes, "stored_data_bytes": T.stored_data_bytes,
              "other_bytes": T.other_bytes, "metadata_bytes": T.metadata_bytes, "tensors": T.n_tensors, "quantized": T.n_quantized,
              "simulated": T.n_simulated, "fake_quant": T.n_fake, "weights": T.numel,
              "quantized_weights": T.numel_quantized, "bytes_by_dtype": _dtype_bytes(T.by_dtype)}
    return {"path": model.path, "format": model.format, "tensors": rows, "totals": totals}


def inspect(path):
    """The ledger of a weight file: the dict `trueq inspect PATH --json` prints
    (path, format, tensors: one row each, totals reconciling with the bytes on
    disk), plus fake_quant: the rows found to hold quantized values stored as
    floats."""
    with Model(path) as m:
        led = _ledger(m)
        try:
            d = _ledger_dict(m, led)
        finally:
            lib.tq_ledger_free(led)
    d["fake_quant"] = [r for r in d["tensors"] if r["fake_quant"]]
    return d


_KEPT = (("embeddings", "embedding"), ("norms", "normalization"), ("1-D tensors (biases, gains)", "-D tensor"),
         ("non-float tensors", "not a float"), ("--exclude", "--exclude"), ("other kept tensors", ""))


def _plan_summary(plan):
    items = [lib.tq_plan_item_at(plan, i).contents for i in range(lib.tq_plan_count(plan))]
    kept = {label: [0, 0] for label, _ in _KEPT}
    sm = dict(nq=0, nk=0, payload=0, scales=0, numel=0, numel_q=0, q_bytes=0)
    for it in items:
        sm["payload"] += it.out_bytes
        sm["scales"] += it.aux_bytes
        sm["numel"] += it.src.contents.numel
        if it.quantize:
            sm["nq"] += 1
            sm["numel_q"] += it.src.contents.numel
            sm["q_bytes"] += it.out_bytes + it.aux_bytes
        else:
            sm["nk"] += 1
            rule = s(it.rule) or ""
            label = next(lb for lb, key in _KEPT if key in rule)
            kept[label][0] += 1
            kept[label][1] += it.out_bytes
    sm["kept"] = [{"reason": lb, "tensors": kept[lb][0], "bytes": kept[lb][1]} for lb, _ in _KEPT if kept[lb][0]]
    return sm


def convert(src, dst=None, bits=None, scheme="symmetric", granularity=None, format="safetensors", codec=None,
            quantize_embeddings=False, include=(), exclude=(), simulate=False, allow_nonfinite=False, alpha=None,
            pad=False, target_size=None, dry_run=False, threads=0):
    """Quantize src into directory dst (trueq convert): returns the report as
    `trueq convert --json` gives it, measured from the written file (or the
    exact plan with dry_run=True). Defaults as the CLI's: linear symmetric,
    8 bits, per channel. granularity: "tensor", "channel" or "group:N"; codec:
    any codec name of `trueq codecs` (instead of scheme); where bits or
    granularity are not given, the codec's natural ones (nf4: 4 bits,
    group:64). With target_size (bytes) a plan over it writes nothing and
    reports target_met False."""
    if dst is None and not dry_run:
        raise ValueError("convert: give dst (the output directory) or dry_run=True")
    o = ConvertOptions()
    lib.tq_convert_options_init(C.byref(o))
    if codec is not None:
        ci = lib.tq_codec_by_name(codec.encode())
        if not ci:
            raise ValueError("convert: unknown codec %r" % codec)
        o.q.codec = ci.contents.id
    else:
        if scheme not in _SCHEMES:
            raise ValueError("convert: scheme must be one of %s" % ", ".join(_SCHEMES))
        o.q.codec = _SCHEMES[scheme]
        ci = lib.tq_codec_by_id(o.q.codec)
    ci = ci.contents
    if bits is not None:
        o.q.bits = int(bits)
    elif not (ci.bits_mask >> o.q.bits) & 1:
        o.q.bits = ci.default_bits
    if granularity is not None:
        name, _, group = str(granularity).partition(":")
        g = lib.tq_gran_from_name(name.encode())
        if g < 0 or (name == "group") != bool(group) or not (group or "0").isdigit():
            raise ValueError("convert: granularity must be tensor, channel or group:N, not %r" % granularity)
        o.q.gran, o.q.group = g, int(group) if group else 0
    else:
        o.q.gran, o.q.group = ci.default_gran, ci.default_group
    if alpha is not None:
        if not ci.uses_alpha:
            raise ValueError("convert: alpha applies to codec qins-rational only")
        o.q.alpha = float(alpha)
    o.q.pad = int(bool(pad))
    fi = lib.tq_format_by_name(str(format).encode())
    if not fi:
        raise ValueError("convert: unknown format %r" % format)
    o.format = fi.contents.id
    o.quantize_embeddings, o.simulate = int(bool(quantize_embeddings)), int(bool(simulate))
    o.allow_nonfinite, o.threads = int(bool(allow_nonfinite)), int(threads)
    inc = [g.encode() for g in include]
    exc = [g.encode() for g in exclude]
    inc_a, exc_a = (C.c_char_p * max(1, len(inc)))(*inc), (C.c_char_p * max(1, len(exc)))(*exc)
    o.include, o.n_include = C.cast(inc_a, C.POINTER(C.c_char_p)), len(inc)
    o.exclude, o.n_exclude = C.cast(exc_a, C.POINTER(C.c_char_p)), len(exc)

    err = Error()
    src = os.fspath(src)
    with Model(src) as m:
        led = _ledger(m)
        in_bytes = lib.tq_ledger_totals_get(led).contents.file_bytes
        in_fake = lib.tq_ledger_totals_get(led).contents.n_fake   # the input already on a grid (as the CLI warns)
        lib.tq_ledger_free(led)
        plan = lib.tq_plan_create(m._ptr(), C.byref(o), C.byref(err))
        if not plan:
            fail(err)
        try:
            sm = _plan_summary(plan)
            out_bytes = lib.tq_plan_output_bytes(plan)
            by = (u64 * DTYPE_COUNT)()
            lib.tq_plan_bytes_by_dtype(plan, by)
            by_dtype = _dtype_bytes(by)
            weights_file = s(lib.tq_plan_output_name(plan))
            over = target_size is not None and out_bytes > target_size
            measured = not (dry_run or over)
            if measured:
                check(lib.tq_plan_execute(plan, os.fspath(dst).encode(), None, None, C.byref(err)), err)
        finally:
            lib.tq_plan_free(plan)
    if measured:   # the report is measured from what was written
        path = os.path.join(os.fspath(dst), weights_file)
        with Model(path) as q:
            led = _ledger(q)
            T = lib.tq_ledger_totals_get(led).contents
            sm["payload"], sm["scales"], by_dtype = T.payload_bytes, T.aux_bytes, _dtype_bytes(T.by_dtype)
            lib.tq_ledger_free(led)
        out_bytes = os.stat(path).st_size
    rep = {"input": src, "output": None if dst is None else os.fspath(dst), "dry_run": not measured,
           "measured": measured, "weights_file": weights_file, "input_bytes": in_bytes, "output_bytes": out_bytes,
           "compression_ratio": round(in_bytes / out_bytes, 6) if out_bytes else 0.0,
           "quantized_tensors": sm["nq"], "kept_tensors": sm["nk"], "payload_bytes": sm["payload"],
           "scale_bytes": sm["scales"], "header_bytes": out_bytes - sm["payload"] - sm["scales"],
           "bits_per_weight_all": round(out_bytes * 8.0 / sm["numel"], 6) if sm["numel"] else 0.0,
           "bits_per_weight_quantized": round(sm["q_bytes"] * 8.0 / sm["numel_q"], 6) if sm["numel_q"] else 0.0,
           "bytes_by_dtype": by_dtype, "kept": sm["kept"],
           "input_looks_quantized": in_fake > 0, "input_fake_quant_tensors": in_fake}
    if target_size is not None:
        rep.update(target_bytes=int(target_size), target_met=not over)
    return rep


_PRESENCE = ("compared", "orig-only", "quant-only", "shape-mismatch", "not-numeric")


def _metrics(m):
    return {"n": m.n, "mse": m.mse, "rmse": m.rmse, "rel_error": m.rel_fro, "max_abs_error": m.max_abs,
            "snr_db": m.snr_db, "cosine": m.cosine, "clipped": m.n_clipped, "clipped_fraction": m.clipped_frac,
            "top_n": m.n_top, "top_rel_error": m.top_rel_err, "top_max_abs_error": m.top_max_abs,
            "grade": lib.tq_verify_grade(m.snr_db).decode() if m.n else "-"}


def verify(orig, quant):
    """Weight-level error of quant against orig, tensor by tensor (trueq verify
    --json): tensors (name, presence, shape, quantized, simulated, scheme,
    metrics), overall, overall_quantized, counts."""
    err = Error()
    with Model(orig) as a, Model(quant) as b:
        r = lib.tq_verify_report_create(a._ptr(), b._ptr(), C.byref(err))
        if not r:
            fail(err)
        try:
            rows = []
            for i in range(lib.tq_verify_count(r)):
                v = lib.tq_verify_row_at(r, i).contents
                row = {"name": s(v.name), "presence": _PRESENCE[v.presence] if v.presence < 5 else "not-numeric",
                       "shape": [int(v.shape[k]) for k in range(v.ndim)], "quantized": v.quantized == 1,
                       "simulated": v.quantized == 2, "scheme": s(v.scheme)}
                if v.presence == 0:
                    row["metrics"] = _metrics(v.m)
                rows.append(row)
            keys = ("compared", "orig_only", "quant_only", "shape_mismatch", "not_numeric")
            return {"orig": os.fspath(orig), "quant": os.fspath(quant), "tensors": rows,
                    "overall": _metrics(lib.tq_verify_overall(r, 0).contents),
                    "overall_quantized": _metrics(lib.tq_verify_overall(r, 1).contents),
                    "counts": {k: lib.tq_verify_count_presence(r, i) for i, k in enumerate(keys)}}
        finally:
            lib.tq_verify_report_free(r)


def synth(outdir, seed=1, layers=6, dim=768, hidden=3072, heads=12, vocab=30522, max_pos=512):
    """Write the built-in DistilBERT-shaped MNLI checkpoint (trueq synth) into outdir; returns outdir."""
    o = SynthOptions()
    lib.tq_synth_options_init(C.byref(o))
    o.seed, o.layers, o.dim, o.hidden, o.heads, o.vocab, o.max_pos = seed, layers, dim, hidden, heads, vocab, max_pos
    err = Error()
    check(lib.tq_synth_distilbert(os.fspath(outdir).encode(), C.byref(o), C.byref(err)), err)
    return os.fspath(outdir)
