/*
 * awq_dec.c — AWQ scale search over matrices sharing their input (awq_dec.h).
 */
#include "quant/awq_dec.h"
#include "kern/pool.h"
#include "core/blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ERR_ROWS 64

typedef struct err_run {
    const float *a, *b;
    int64_t rows, K;
    const float *H;
    double *part;   /* [tasks] */
    int oom;        /* set by a task (each writes only 0 -> 1) */
} err_run;

static void err_task(void *ctx, int t, int worker) {
    (void)worker;
    err_run *r = ctx;
    const int64_t r0 = (int64_t)t * ERR_ROWS, n = r0 + ERR_ROWS < r->rows ? ERR_ROWS : r->rows - r0, K = r->K;
    float *d = calloc(2 * (size_t)(n * K), sizeof(float));
    if (!d) { r->oom = 1; r->part[t] = 0; return; }
    float *p = d + n * K;
    for (int64_t i = 0; i < n * K; i++) d[i] = r->a[r0 * K + i] - r->b[r0 * K + i];
    tq_blas()->ssymm(CblasRowMajor, CblasRight, CblasUpper, (int)n, (int)K, 1.0f, r->H, (int)K, d, (int)K, 0.0f, p, (int)K);
    double s = 0.0;
    for (int64_t i = 0; i < n * K; i++) s += (double)d[i] * p[i];
    r->part[t] = s;
    free(d);
}

double tq_awq_output_error(const float *a, const float *b, int64_t rows, int64_t K, const float *H) {
    const int tasks = (int)((rows + ERR_ROWS - 1) / ERR_ROWS);
    err_run r = {a, b, rows, K, H, calloc((size_t)(tasks ? tasks : 1), sizeof(double)), 0};
    if (!r.part) return NAN;
    tq_pool_run_all(tasks, err_task, &r);
    double tot = 0.0;
    for (int t = 0; t < tasks; t++) tot += r.part[t];
    free(r.part);
    return r.oom ? NAN : tot;
}

/* the summed error of every matrix quantized as W diag(s), decoded, times diag(1/s) */
static tq_status trial(const tq_awq_mat *mats, int nm, int64_t K, const double *s, const float *H, float *ws,
                       float *deq, void *codes, void *const aux[TQ_MAX_AUX], double *e, tq_error *err) {
    *e = 0.0;
    for (int i = 0; i < nm; i++) {
        const tq_awq_mat *M = &mats[i];
        for (int64_t r = 0; r < M->rows; r++)
            for (int64_t c = 0; c < K; c++) ws[r * K + c] = (float)((double)M->w[r * K + c] * s[c]);
        tq_status st = tq_quantize(M->q, M->name, ws, M->rows, K, codes, aux, 0, err);
        if (!st) st = tq_dequantize(M->q, M->rows, K, codes, (const void *const *)aux, deq, err);
        if (st) return st;
        for (int64_t r = 0; r < M->rows; r++)
            for (int64_t c = 0; c < K; c++) deq[r * K + c] = (float)((double)deq[r * K + c] / s[c]);
        double ei = tq_awq_output_error(M->w, deq, M->rows, K, H);
        if (ei != ei) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for awq", M->name);
        *e += ei;
    }
    return TQ_OK;
}

tq_status tq_awq_choose(const tq_awq_mat *mats, int nm, int64_t K, const double *m, const double *H, double *s,
                        double *alpha, double e[2], tq_error *err) {
    *alpha = 0;
    if (nm < 1 || K < 1) return tq_err(err, TQ_E_ARG, "awq: no matrix to scale (%d matrices, %lld inputs)", nm, (long long)K);
    int64_t maxr = 0;
    uint64_t maxc = 0, maxa[TQ_MAX_AUX] = {0};
    for (int i = 0; i < nm; i++) {
        tq_dtype cd;
        int64_t cs[2];
        tq_aux_desc ad[TQ_MAX_AUX];
        int na = tq_qparams_layout(mats[i].q, mats[i].rows, K, &cd, cs, ad);
        if (na < 0) return tq_err(err, TQ_E_ARG, "tensor \"%s\": its settings do not fit [%lld, %lld]", mats[i].name,
                                  (long long)mats[i].rows, (long long)K);
        if (mats[i].rows > maxr) maxr = mats[i].rows;
        if (tq_nbytes(cd, 2, cs) > maxc) maxc = tq_nbytes(cd, 2, cs);
        for (int a = 0; a < na; a++)
            if (tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) > maxa[a]) maxa[a] = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
    }
    double *t = malloc(sizeof(double) * (size_t)K);
    float *Hf = malloc(sizeof(float) * (size_t)(K * K));
    float *ws = malloc(sizeof(float) * (size_t)(maxr * K)), *deq = malloc(sizeof(float) * (size_t)(maxr * K));
    void *codes = malloc(maxc + 1), *aux[TQ_MAX_AUX] = {0};
    bool oom = !t || !Hf || !ws || !deq || !codes;
    for (int a = 0; a < TQ_MAX_AUX; a++) oom |= !(aux[a] = malloc(maxa[a] + 1));
    tq_status st = TQ_OK;
    if (oom) { st = tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for awq", mats[0].name); goto out; }
    for (int64_t i = 0; i < K * K; i++) Hf[i] = (float)H[i];
    double best = INFINITY;
    for (int k = 0; k <= TQ_AWQ_GRID && !st; k++) {
        double a = (double)k / TQ_AWQ_GRID, lo = INFINITY, hi = 0;
        for (int64_t j = 0; j < K; j++) {
            t[j] = pow(m[j] > 1e-6 ? m[j] : 1e-6, a);
            lo = t[j] < lo ? t[j] : lo;
            hi = t[j] > hi ? t[j] : hi;
        }
        const double norm = sqrt(lo * hi);
        for (int64_t j = 0; j < K; j++) t[j] /= norm;
        double ek;
        st = trial(mats, nm, K, t, Hf, ws, deq, codes, aux, &ek, err);
        if (st) break;
        if (k == 0 && e) e[0] = ek;
        if (ek < best) { best = ek; *alpha = a; memcpy(s, t, sizeof(double) * (size_t)K); }
    }
    if (!st && e) e[1] = best;
out:
    free(t); free(Hf); free(ws); free(deq); free(codes);
    for (int a = 0; a < TQ_MAX_AUX; a++) free(aux[a]);
    return st;
}
