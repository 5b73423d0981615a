/*
 * wmat.c — float32 or quantized weight matrices, decoded by row tiles (wmat.h).
 */
#include "core/internal.h"
#include "nn/ops/wmat.h"
#include "io/model.h"
#include "core/wmem.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows decoded per step of the finiteness check at tq_wmat_keep. */
#define CHECK_FLOATS 65536

int tq_wmat_keepable(const tq_tensor *t, int any_codec) {
    if (!t || !t->quantized || t->simulated || t->ndim != 2 || t->n_aux < 0 || t->n_aux > TQ_MAX_AUX) return 0;
    if (any_codec) return 1;
    return t->q.codec == TQ_CODEC_LINEAR_SYM && t->q.bits == 8 && t->dtype == TQ_DTYPE_I8 && t->n_aux == 1 &&
           t->aux_desc[0].dtype == TQ_DTYPE_F32;
}

void tq_wmat_set_f32(tq_wmat *w, const float *values, int64_t rows, int64_t cols) {
    memset(w, 0, sizeof *w);
    w->f = values;
    w->rows = rows;
    w->cols = cols;
}

int tq_wmat_plain_keepable(const tq_tensor *t) {
    return t && !t->quantized && t->ndim == 2 && (t->dtype == TQ_DTYPE_F16 || t->dtype == TQ_DTYPE_BF16) &&
           t->nbytes == (uint64_t)t->numel * 2;
}

tq_status tq_wmat_keep_plain(tq_wmat *w, const tq_model *m, const tq_tensor *t, const char *path, tq_error *err) {
    memset(w, 0, sizeof *w);
    w->rows = t->shape[0];
    w->cols = t->shape[1];
    w->plain = t->dtype;
    if (!(w->codes = tq_wmem_alloc(t->nbytes)))
        return tq_err(err, TQ_E_NOMEM, "%s: out of memory for the %s values of \"%s\"", path, tq_dtype_name(t->dtype),
                      t->name);
    w->bytes = t->nbytes;
    tq_status st = tq_model_read_range(m, t, 0, t->nbytes, w->codes, err);
    int64_t tile = CHECK_FLOATS / w->cols > 0 ? CHECK_FLOATS / w->cols : 1;
    float *buf = st ? NULL : malloc(sizeof(float) * (size_t)(tile * w->cols));
    if (!st && !buf) st = tq_err(err, TQ_E_NOMEM, "%s: out of memory", path);
    for (int64_t r0 = 0; r0 < w->rows && !st; r0 += tile) {
        int64_t r1 = r0 + tile < w->rows ? r0 + tile : w->rows;
        tq_wmat_rows(w, r0, r1, buf);
        for (int64_t i = 0; i < (r1 - r0) * w->cols; i++)
            if (!isfinite(buf[i])) {
                st = tq_err(err, TQ_E_VALUE, "%s: tensor \"%s\": value %lld is %g, not finite", path, t->name,
                            (long long)(r0 * w->cols + i), (double)buf[i]);
                break;
            }
    }
    free(buf);
    int off;   /* the F16/BF16 kernels (kern.h) unless TRUEQ_ISA=decode */
    tq_kisa isa = tq_kern_isa(&off);
    if (!st && !off) tq_kern_prepare_half(&w->k, w->plain, w->rows, w->cols, w->codes, isa, 0);
    if (st) tq_wmat_free(w);
    return st;
}

void tq_wmat_ggml_act(tq_wmat *w) {
    if (w->plain && tq_wmat_kernel(w)) tq_kern_prepare_half(&w->k, w->plain, w->rows, w->cols, w->codes, w->k.isa, 1);
}

/* The row slicing of q's layout for a [rows, cols] matrix: bytes per row of
 * the codes and of each per-row side tensor (0 for a shared one). @return 1
 * when every part is whole bytes per row (or shared), 0 otherwise. */
static int row_sliced(const tq_qparams *q, int64_t rows, int64_t cols, uint64_t *crow, uint64_t arow[TQ_MAX_AUX],
                      int *na) {
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    memset(ad, 0, sizeof ad);
    *na = tq_qparams_layout(q, rows, cols, &cd, cs, ad);
    if (*na < 0 || rows < 1) return 0;
    uint64_t cb = tq_nbytes(cd, 2, cs);
    if (cb % (uint64_t)rows) return 0;
    *crow = cb / (uint64_t)rows;
    for (int a = 0; a < *na; a++) {
        uint64_t ab = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
        if (ad[a].per_row && (ad[a].ndim < 1 || ad[a].shape[0] != rows || ab % (uint64_t)rows)) return 0;
        arow[a] = ad[a].per_row ? ab / (uint64_t)rows : 0;
    }
    return 1;
}

tq_status tq_wmat_view_rows(tq_wmat *w, const tq_wmat *src, int64_t r0, int64_t rows) {
    TQ_ASSERT(r0 >= 0 && rows >= 0 && r0 + rows <= src->rows);
    memset(w, 0, sizeof *w);
    w->rows = rows;
    w->cols = src->cols;
    if (!src->codes) {
        w->f = src->f + r0 * src->cols;
        return TQ_OK;
    }
    w->borrowed = 1;
    if (src->plain) {
        w->plain = src->plain;
        w->codes = (char *)src->codes + (size_t)(r0 * src->cols) * 2;
        int ggml = src->k.kind == TQ_KW_F16R || src->k.kind == TQ_KW_BF16R;
        if (tq_wmat_kernel(src) && tq_kern_prepare_half(&w->k, w->plain, rows, w->cols, w->codes, src->k.isa, ggml) < 0)
            goto nomem;
        return TQ_OK;
    }
    /* quantized: rows decoded from the matrix that owns the codes */
    w->q = src->q;
    w->parent = src->parent ? src->parent : src;
    w->row0 = r0 + src->row0;
    const tq_wmat *own = w->parent;
    uint64_t crow = 0, arow[TQ_MAX_AUX] = {0};
    int na = 0;
    int sliced = row_sliced(&own->q, own->rows, own->cols, &crow, arow, &na);
    w->codes = sliced ? (char *)own->codes + (uint64_t)w->row0 * crow : own->codes;
    for (int a = 0; a < na && a < TQ_MAX_AUX; a++)
        w->aux[a] = sliced ? (char *)own->aux[a] + (uint64_t)w->row0 * arow[a] : own->aux[a];
    int off;
    tq_kisa isa = tq_kern_isa(&off);
    if (sliced && !off && rows > 0 &&
        tq_kern_prepare(&w->k, &w->q, rows, w->cols, w->codes, (const void *const *)w->aux, isa) < 0)
        goto nomem;
    w->bytes = tq_kern_bytes(&w->k);   /* the view's own repacked copy, if any */
    return TQ_OK;
nomem:
    tq_wmat_free(w);
    return TQ_E_NOMEM;
}

void tq_wmat_free(tq_wmat *w) {
    if (!w) return;
    tq_kern_release(&w->k);
    if (!w->borrowed) {
        tq_wmem_free(w->codes);
        for (int a = 0; a < TQ_MAX_AUX; a++) free(w->aux[a]);
    }
    memset(w, 0, sizeof *w);
}

static tq_status keep(tq_wmat *w, const tq_model *m, const tq_tensor *t, const char *path, int kernel,
                      tq_error *err) {
    memset(w, 0, sizeof *w);
    int64_t rows = t->shape[0], cols = t->shape[1];
    tq_status st = tq_qparams_check(&t->q, t->name, rows, cols, err);
    if (st) return st;
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(&t->q, rows, cols, &cd, cs, ad);
    uint64_t cbytes = na >= 0 ? tq_nbytes(cd, 2, cs) : 0;
    if (na != t->n_aux || cbytes != t->nbytes)
        return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": %llu code bytes and %d side tensors, its codec lays out "
                      "%llu and %d", path, t->name, (unsigned long long)t->nbytes, t->n_aux,
                      (unsigned long long)cbytes, na);
    for (int a = 0; a < na; a++) {   /* the reads below fill buffers of the codec's sizes */
        uint64_t want = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
        uint64_t have = tq_nbytes(t->aux_desc[a].dtype, t->aux_desc[a].ndim, t->aux_desc[a].shape);
        if (want != have)
            return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": side tensor %s holds %llu bytes, its codec lays out "
                          "%llu", path, t->name, t->aux_desc[a].suffix ? t->aux_desc[a].suffix : "?",
                          (unsigned long long)have, (unsigned long long)want);
    }
    w->rows = rows;
    w->cols = cols;
    w->q = t->q;
    w->codes = tq_wmem_alloc(cbytes);
    if (!w->codes) goto nomem;
    w->bytes = cbytes;
    for (int a = 0; a < na; a++) {
        uint64_t ab = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
        if (!(w->aux[a] = malloc(ab ? ab : 1))) goto nomem;
        if (!m) memcpy(w->aux[a], t->aux[a], ab);
        w->bytes += ab;
    }
    if (m) {   /* pread into the buffers: a file that shrinks is an error, never a signal */
        if ((st = tq_model_read_stored(m, t, w->codes, w->aux, err))) {
            tq_wmat_free(w);
            return st;   /* the message names the file, offset and tensor */
        }
    } else memcpy(w->codes, t->data, cbytes);
    /* the float32 path refuses non-finite weights at open: so does this one */
    int64_t tile = CHECK_FLOATS / cols > 0 ? CHECK_FLOATS / cols : 1;
    float *buf = malloc(sizeof(float) * (size_t)(tile * cols));
    if (!buf) goto nomem;
    for (int64_t r0 = 0; r0 < rows && !st; r0 += tile) {
        int64_t r1 = r0 + tile < rows ? r0 + tile : rows;
        st = tq_dequantize_rows(&w->q, rows, cols, r0, r1, w->codes, (const void *const *)w->aux, buf, err);
        for (int64_t i = 0; !st && i < (r1 - r0) * cols; i++)
            if (!isfinite(buf[i]))
                st = tq_err(err, TQ_E_VALUE, "%s: tensor \"%s\": value %lld is %g, not finite", path, t->name,
                            (long long)(r0 * cols + i), (double)buf[i]);
    }
    free(buf);
    int off;
    tq_kisa isa = tq_kern_isa(&off);
    if (!st && kernel && !off &&
        tq_kern_prepare(&w->k, &w->q, rows, cols, w->codes, (const void *const *)w->aux, isa) < 0) {
        tq_wmat_free(w);
        return tq_err(err, TQ_E_NOMEM, "%s: out of memory for the kernel layout of \"%s\"", path, t->name);
    }
    w->bytes += tq_kern_bytes(&w->k);   /* the kernels' repacked copy, if any */
    if (st) tq_wmat_free(w);
    return st;
nomem:
    tq_wmat_free(w);
    return tq_err(err, TQ_E_NOMEM, "%s: out of memory for the codes of \"%s\"", path, t->name);
}

tq_status tq_wmat_keep(tq_wmat *w, const tq_model *m, const tq_tensor *t, const char *path, tq_error *err) {
    return keep(w, m, t, path, 1, err);
}

tq_status tq_wmat_keep_codes(tq_wmat *w, const tq_model *m, const tq_tensor *t, const char *path, tq_error *err) {
    return keep(w, m, t, path, 0, err);
}

void tq_wmat_rows(const tq_wmat *w, int64_t r0, int64_t r1, float *out) {
    TQ_ASSERT(r0 >= 0 && r0 <= r1 && r1 <= w->rows);
    if (!w->codes) {
        memcpy(out, w->f + r0 * w->cols, sizeof(float) * (size_t)((r1 - r0) * w->cols));
        return;
    }
    if (w->parent) {   /* a quantized row view */
        tq_wmat_rows(w->parent, r0 + w->row0, r1 + w->row0, out);
        return;
    }
    if (w->plain) {   /* F16 / BF16: each value widened exactly */
        tq_status cs = tq_convert_to_f32(w->plain, (const char *)w->codes + (size_t)(r0 * w->cols) * 2,
                                         (r1 - r0) * w->cols, out, NULL);
        TQ_ASSERT(cs == TQ_OK);
        (void)cs;
        return;
    }
    /* validated at tq_wmat_keep: a failure here is a bug */
    tq_status st = tq_dequantize_rows(&w->q, w->rows, w->cols, r0, r1, w->codes, (const void *const *)w->aux, out, NULL);
    TQ_ASSERT(st == TQ_OK);
    (void)st;
}

void tq_wmat_stack_rows(const tq_wmat *parts, int n, int64_t r0, int64_t r1, float *out) {
    int64_t base = 0;
    for (int i = 0; i < n && r0 < r1; i++) {
        int64_t end = base + parts[i].rows;
        if (r0 < end) {
            int64_t e = r1 < end ? r1 : end;
            tq_wmat_rows(&parts[i], r0 - base, e - base, out);
            out += (e - r0) * parts[i].cols;
            r0 = e;
        }
        base = end;
    }
    TQ_ASSERT(r0 == r1);
}

tq_status tq_wmat_matmul(const tq_wmat *w, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1, float *y,
                         int64_t ldy, int accumulate) {
    TQ_ASSERT(tq_wmat_kernel(w) && r0 >= 0 && r0 <= r1 && r1 <= w->rows);
    return tq_kern_matmul(&w->k, x, ldx, n, r0, r1, y, ldy, accumulate);
}
