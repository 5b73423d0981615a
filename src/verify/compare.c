/*
 * compare.c — tq_verify_report_create: compare two models tensor by tensor at the
 * weight level (the original against values dequantized from stored codes).
 */
#include "core/internal.h"
#include "io/model.h"
#include "trueq_verify.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One allocation: the rows follow the header. */
struct tq_verify_report {
    int64_t           n;
    tq_verify_metrics all, quant;
    double            decode_s;
    tq_verify_row     rows[];
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fill_shape(tq_verify_row *row, const tq_tensor *t) {
    row->ndim = t->ndim;
    memcpy(row->shape, t->shape, sizeof row->shape);
}

static bool same_shape(const tq_tensor *a, const tq_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++) if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* Decode t into a new buffer. TQ_E_UNSUPPORTED for dtypes with no float meaning. */
static tq_status decode(const tq_model *m, const tq_tensor *t, float **out, tq_error *err) {
    *out = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
    if (!*out) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for %lld values", t->name, (long long)t->numel);
    tq_status st = tq_model_tensor_f32(m, t, *out, err);
    if (st) { free(*out); *out = NULL; }
    return st;
}

tq_verify_report *tq_verify_report_create(const tq_model *orig, const tq_model *quant, tq_error *err) {
    int64_t no = tq_model_count(orig), nq = tq_model_count(quant);
    tq_verify_report *r = calloc(1, sizeof *r + (size_t)(no + nq + 1) * sizeof(tq_verify_row));
    if (!r) { tq_err(err, TQ_E_NOMEM, "out of memory for a report of %lld tensors", (long long)(no + nq)); return NULL; }
    for (int64_t i = 0; i < no; i++) {
        const tq_tensor *a = tq_model_tensor(orig, i), *b = tq_model_find(quant, a->name);
        tq_verify_row *row = &r->rows[r->n++];
        row->name = a->name;
        fill_shape(row, a);
        row->grade = '-';
        if (!b) { row->presence = TQ_VERIFY_ORIG_ONLY; continue; }
        row->quantized = b->quantized ? 1 : b->simulated ? 2 : 0;
        if (b->quantized || b->simulated) tq_qparams_str(&b->q, row->scheme, sizeof row->scheme);
        else snprintf(row->scheme, sizeof row->scheme, "%s", tq_dtype_name(b->dtype));
        if (!same_shape(a, b)) { row->presence = TQ_VERIFY_MISMATCH; continue; }
        float *w = NULL, *q = NULL;
        tq_error e2;
        tq_status st = decode(orig, a, &w, &e2);
        if (st == TQ_E_UNSUPPORTED) { row->presence = TQ_VERIFY_NOT_NUMERIC; continue; }
        double t0 = now_s();
        if (!st) st = decode(quant, b, &q, &e2);
        if (b->quantized) r->decode_s += now_s() - t0;
        if (st == TQ_E_UNSUPPORTED) { free(w); row->presence = TQ_VERIFY_NOT_NUMERIC; continue; }
        if (!st) {
            int64_t rows, cols;
            tq_shape_2d(a->ndim, a->shape, &rows, &cols);
            float *lohi = NULL;
            if (b->quantized) {
                lohi = malloc(sizeof(float) * 2 * (size_t)tq_verify_block_count(&b->q, rows, cols));
                if (!lohi) st = tq_err(&e2, TQ_E_NOMEM, "out of memory");
                else {   /* from the stored bytes read with pread, never the map */
                    tq_stored s;
                    if (!(st = tq_model_load_stored(quant, b, true, &s, &e2))) {
                        st = tq_verify_block_ranges(&s.t, rows, cols, lohi, &e2);
                        tq_stored_free(&s);
                    }
                }
            }
            if (!st) st = tq_verify_tensor(w, q, rows, cols, b->quantized ? &b->q : NULL, lohi, &row->m, &e2);
            free(lohi);
        }
        free(w);
        free(q);
        if (st) {
            if (err) *err = e2;
            tq_verify_report_free(r);
            return NULL;
        }
        row->presence = TQ_VERIFY_COMPARED;
        row->grade = tq_verify_grade(row->m.snr_db);
        tq_verify_pool(&r->all, &row->m);
        if (row->quantized) tq_verify_pool(&r->quant, &row->m);
    }
    for (int64_t i = 0; i < nq; i++) {
        const tq_tensor *b = tq_model_tensor(quant, i);
        if (tq_model_find(orig, b->name)) continue;
        tq_verify_row *row = &r->rows[r->n++];
        row->name = b->name;
        fill_shape(row, b);
        row->presence = TQ_VERIFY_QUANT_ONLY;
        row->quantized = b->quantized ? 1 : b->simulated ? 2 : 0;
        row->grade = '-';
        if (b->quantized || b->simulated) tq_qparams_str(&b->q, row->scheme, sizeof row->scheme);
        else snprintf(row->scheme, sizeof row->scheme, "%s", tq_dtype_name(b->dtype));
    }
    tq_verify_finish(&r->all);
    tq_verify_finish(&r->quant);
    return r;
}

void tq_verify_report_free(tq_verify_report *r) { free(r); }

int64_t tq_verify_count(const tq_verify_report *r) { return r->n; }

const tq_verify_row *tq_verify_row_at(const tq_verify_report *r, int64_t i) {
    return i >= 0 && i < r->n ? &r->rows[i] : NULL;
}

const tq_verify_metrics *tq_verify_overall(const tq_verify_report *r, int quantized_only) {
    return quantized_only ? &r->quant : &r->all;
}

int64_t tq_verify_count_presence(const tq_verify_report *r, tq_verify_presence p) {
    int64_t c = 0;
    for (int64_t i = 0; i < r->n; i++) c += r->rows[i].presence == p;
    return c;
}

double tq_verify_decode_seconds(const tq_verify_report *r) { return r->decode_s; }
