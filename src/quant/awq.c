/*
 * awq.c — AWQ scaling of the attention output, folded into v (awq.h).
 */
#include "quant/awq.h"
#include "quant/gptq.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* output error of wo quantized as wo diag(s), decoded, times diag(1/s) */
static tq_status trial(const tq_qparams *q, const char *name, const float *wo, int64_t D, const double *s,
                       const double *H, float *ws, float *deq, void *codes, void *const aux[TQ_MAX_AUX], double *e,
                       tq_error *err) {
    for (int64_t r = 0; r < D; r++)
        for (int64_t c = 0; c < D; c++) ws[r * D + c] = (float)((double)wo[r * D + c] * s[c]);
    tq_status st = tq_quantize(q, name, ws, D, D, codes, aux, 0, err);
    if (!st) st = tq_dequantize(q, D, D, codes, (const void *const *)aux, deq, err);
    if (st) return st;
    for (int64_t r = 0; r < D; r++)
        for (int64_t c = 0; c < D; c++) deq[r * D + c] = (float)((double)deq[r * D + c] / s[c]);
    *e = tq_quant_output_error(wo, deq, D, D, H);
    return TQ_OK;
}

tq_status tq_awq_fold_vo(const tq_qparams *q, const char *name, float *wo, float *wv, float *vb, int64_t D,
                         const float *x, int64_t n, const double *H, double *alpha, tq_error *err) {
    *alpha = 0;
    if (n < 1 || D < 1) return tq_err(err, TQ_E_ARG, "tensor \"%s\": awq needs calibration rows (got %lld)", name, (long long)n);
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(q, D, D, &cd, cs, ad);
    if (na < 0) return tq_err(err, TQ_E_ARG, "tensor \"%s\": its settings do not fit [%lld, %lld]", name, (long long)D, (long long)D);
    double *m = calloc((size_t)D, sizeof(double)), *s = malloc(sizeof(double) * (size_t)D),
           *best = malloc(sizeof(double) * (size_t)D);
    float *ws = malloc(sizeof(float) * (size_t)(D * D)), *deq = malloc(sizeof(float) * (size_t)(D * D));
    void *codes = malloc(tq_nbytes(cd, 2, cs) + 1), *aux[TQ_MAX_AUX] = {0};
    bool oom = !m || !s || !best || !ws || !deq || !codes;
    for (int a = 0; a < na; a++) oom |= !(aux[a] = malloc(tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 1));
    tq_status st = TQ_OK;
    if (oom) { st = tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for awq", name); goto out; }
    for (int64_t t = 0; t < n; t++)
        for (int64_t j = 0; j < D; j++) m[j] += fabs((double)x[t * D + j]);
    for (int64_t j = 0; j < D; j++) { m[j] /= (double)n; if (m[j] < 1e-6) m[j] = 1e-6; }
    double best_e = INFINITY;
    for (int k = 0; k <= 20 && !st; k++) {
        double a = k / 20.0, lo = INFINITY, hi = 0;
        for (int64_t j = 0; j < D; j++) { s[j] = pow(m[j], a); lo = s[j] < lo ? s[j] : lo; hi = s[j] > hi ? s[j] : hi; }
        double norm = sqrt(lo * hi);
        for (int64_t j = 0; j < D; j++) s[j] /= norm;
        double e;
        st = trial(q, name, wo, D, s, H, ws, deq, codes, aux, &e, err);
        if (!st && e < best_e) { best_e = e; *alpha = a; memcpy(best, s, sizeof(double) * (size_t)D); }
    }
    if (st) goto out;
    for (int64_t j = 0; j < D; j++) {
        for (int64_t r = 0; r < D; r++) wo[r * D + j] = (float)((double)wo[r * D + j] * best[j]);
        for (int64_t c = 0; c < D; c++) wv[j * D + c] = (float)((double)wv[j * D + c] / best[j]);
        vb[j] = (float)((double)vb[j] / best[j]);
    }
out:
    free(m); free(s); free(best); free(ws); free(deq); free(codes);
    for (int a = 0; a < na; a++) free(aux[a]);
    return st;
}
