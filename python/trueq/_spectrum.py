"""trueq.spectrum: WeightWatcher-faithful per-layer metrics, original and quantized, as rows."""
import ctypes as C
import math

from ._lib import (AuxDesc, Error, QParams, SPECTRAL_FLOATS, SPECTRAL_NORMS, SpectralOpts, SpectralReport, TQ_MAX_AUX,
                   TRANSFORM, i64, lib, s)
from ._model import Model, check

_INTS = ("N", "M", "num_evals", "num_fit_evals", "rank_loss", "weak_rank_loss", "matrix_rank", "num_pl_spikes",
         "xmin_index")
_FLOATS = ("Q",) + SPECTRAL_FLOATS + SPECTRAL_NORMS


def _qdq(q):
    """A tq_spectral_transform quantizing then dequantizing in place with q,
    as `trueq spectrum --bits` does (same library calls, same values)."""

    def transform(ctx, name, w, rows, cols, err):
        st = lib.tq_qparams_check(C.byref(q), name, rows, cols, err)
        if st:
            return st
        cd, cs, aux = C.c_int(), (i64 * 2)(), (AuxDesc * TQ_MAX_AUX)()
        na = lib.tq_qparams_layout(C.byref(q), rows, cols, C.byref(cd), cs, aux)
        if na < 0:
            return 6
        codes = C.create_string_buffer(lib.tq_nbytes(cd.value, 2, cs) + 1)
        bufs = [C.create_string_buffer(lib.tq_nbytes(aux[i].dtype, aux[i].ndim, aux[i].shape) + 1) for i in range(na)]
        ptrs = (C.c_void_p * TQ_MAX_AUX)(*[C.cast(b, C.c_void_p) for b in bufs])
        st = lib.tq_quantize(C.byref(q), name, w, rows, cols, codes, ptrs, 0, err)
        return st or lib.tq_dequantize(C.byref(q), rows, cols, codes, ptrs, w, err)

    return TRANSFORM(transform)


def _row(run, bits, L):
    r = {"run": run, "bits": bits, "name": s(L.name), "index": int(L.index), "status": s(lib.tq_spectral_status_str(L.status)),
         "reason": s(L.reason), "rows": int(L.rows), "cols": int(L.cols)}
    skipped = L.status == 1
    for k in _INTS:
        r[k] = None if skipped else int(getattr(L, k))
    for k in _FLOATS:
        v = getattr(L, k)
        r[k] = None if skipped or math.isnan(v) else float(v)
    r["svd"] = None if skipped else ("gram" if L.svd_used == 0 else "gesdd")
    r["warning"] = None if skipped else s(lib.tq_spectral_warning_str(L.warning))
    return r


def spectrum(path, bits=(), codec="linear-sym", granularity="channel", threads=0, analysed_only=False):
    """Per-layer spectral metrics (trueq spectrum): one dict per tensor and run,
    ready for pandas.DataFrame(rows). The run "orig" analyses the weights as
    stored; with bits=[8, 4, 2] each width adds a run ("8bit", ...) on the
    weights quantized and dequantized with codec/granularity. Keys: run, bits,
    name, index, status, reason, rows, cols, N, M, Q, alpha, alpha_weighted,
    log_norm, ..., warning (None for skipped tensors and NaN values)."""
    ci = lib.tq_codec_by_name(codec.encode())
    if not ci:
        raise ValueError("spectrum: unknown codec %r" % codec)
    name, _, group = str(granularity).partition(":")
    gran = lib.tq_gran_from_name(name.encode())
    if gran < 0:
        raise ValueError("spectrum: granularity must be tensor, channel or group:N, not %r" % granularity)
    runs = [("orig", None, None)]
    for b in bits:
        q = QParams(codec=ci.contents.id, bits=int(b), gran=gran, group=int(group) if group else 0, pad=int(gran == 2))
        runs.append(("%dbit" % int(b), int(b), q))
    rows = []
    with Model(path) as m:
        for label, b, q in runs:
            cb = _qdq(q) if q is not None else TRANSFORM()
            o = SpectralOpts(threads=int(threads), transform=cb)
            rep, err = SpectralReport(), Error()
            check(lib.tq_spectral_analyze(m._ptr(), C.byref(o), C.byref(rep), C.byref(err)), err)
            try:
                for i in range(rep.n):
                    L = rep.layers[i]
                    if not (analysed_only and L.status == 1):
                        rows.append(_row(label, b, L))
            finally:
                lib.tq_spectral_report_free(C.byref(rep))
    return rows
