/*
 * gptq.c — GPTQ on one matrix (gptq.h states every choice).
 */
#include "quant/gptq.h"
#include "quant/grid.h"
#include "core/blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

double tq_quant_output_error(const float *a, const float *b, int64_t rows, int64_t cols, const double *H) {
    double *d = malloc(sizeof(double) * (size_t)cols);
    if (!d) return NAN;
    double tot = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++) d[c] = (double)a[r * cols + c] - (double)b[r * cols + c];
        double s = 0.0;
        for (int64_t i = 0; i < cols; i++) {
            if (d[i] == 0.0) continue;
            double t = 0.0;
            for (int64_t j = i + 1; j < cols; j++) t += H[i * cols + j] * d[j];
            s += d[i] * (H[i * cols + i] * d[i] + 2.0 * t);
        }
        tot += s;
    }
    free(d);
    return tot;
}

typedef struct diag_key { double d; int64_t i; } diag_key;
static int by_diag_desc(const void *a, const void *b) {
    const diag_key *x = a, *y = b;
    if (x->d != y->d) return x->d > y->d ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* U (upper, row-major, in processing order) of (H + lambda I)^-1 into A. */
static tq_status inverse_cholesky(double *A, int64_t n, const char *tname, tq_error *err) {
    lapack_int N = (lapack_int)n, info = tq_blas()->dpotrf(LAPACK_ROW_MAJOR, 'U', N, A, N);
    if (info == TQ_LAPACK_MISSING)
        return tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": gptq needs LAPACK's Cholesky (dpotrf), and LAPACKE could "
                      "not be loaded (tq_blas_info, trueq --version: why)", tname);
    if (info > 0)
        return tq_err(err, TQ_E_VALUE, "tensor \"%s\": the damped Hessian is not positive definite (pivot %d of %lld); "
                      "raise the damping", tname, (int)info, (long long)n);
    if (info == 0) info = tq_blas()->dpotri(LAPACK_ROW_MAJOR, 'U', N, A, N);
    if (info != 0)
        return tq_err(err, TQ_E_VALUE, "tensor \"%s\": inverting the damped Hessian failed (LAPACK info %d)", tname,
                      (int)info);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) A[i * n + j] = A[j * n + i];
    info = tq_blas()->dpotrf(LAPACK_ROW_MAJOR, 'U', N, A, N);
    if (info != 0)
        return tq_err(err, TQ_E_VALUE, "tensor \"%s\": the inverse Hessian's Cholesky factor failed (LAPACK info %d)",
                      tname, (int)info);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) A[i * n + j] = 0.0;
    return TQ_OK;
}

tq_status tq_gptq_quantize(const tq_qparams *q, const char *tname, const float *w, int64_t rows, int64_t cols,
                           const double *H, const tq_gptq_options *o, void *codes, void *const aux[TQ_MAX_AUX],
                           tq_error *err) {
    if (!tname) tname = "?";
    if (!q || !w || !H || !codes || !aux) return tq_err(err, TQ_E_ARG, "tensor \"%s\": gptq: NULL argument", tname);
    const double damp = o && o->damp > 0 ? o->damp : 0.01;
    const int64_t B = o && o->block > 0 ? o->block : 128;
    if (o && !(o->damp >= 0 && o->damp <= 1))
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": gptq damping %g is outside [0, 1]", tname, o->damp);
    if (rows > ((int64_t)1 << 31) || cols > 65536)
        return tq_err(err, TQ_E_LIMIT, "tensor \"%s\": [%lld, %lld] is beyond gptq's limit (65536 columns)", tname,
                      (long long)rows, (long long)cols);
    for (int64_t i = 0; i < rows * cols; i++)
        if (!isfinite(w[i]))
            return tq_err(err, TQ_E_VALUE, "tensor \"%s\": value %lld is %g, not finite", tname, (long long)i, (double)w[i]);
    for (int64_t i = 0; i < cols; i++)
        for (int64_t j = i; j < cols; j++)
            if (!isfinite(H[i * cols + j]) || (j == i && H[i * cols + i] < 0))
                return tq_err(err, TQ_E_ARG, "tensor \"%s\": Hessian entry (%lld, %lld) is %g (must be finite, the "
                              "diagonal >= 0)", tname, (long long)i, (long long)j, H[i * cols + j]);
    tq_grid g;
    tq_status st = tq_grid_init(&g, q, tname, rows, cols, err);
    if (st) return st;
    const int64_t n = cols;
    double *U = malloc(sizeof(double) * (size_t)(n * n));
    double *W = malloc(sizeof(double) * (size_t)(rows * n));
    double *E = malloc(sizeof(double) * (size_t)(rows * B));
    int *u = malloc(sizeof(int) * (size_t)(rows * n));
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)n), *inv = malloc(sizeof(int64_t) * (size_t)n);
    diag_key *key = malloc(sizeof(diag_key) * (size_t)n);
    unsigned char *dead = calloc((size_t)n, 1), *gdone = calloc((size_t)g.ng, 1);
    float *x = malloc(sizeof(float) * (size_t)g.glen);
    if (!U || !W || !E || !u || !perm || !inv || !key || !dead || !gdone || !x) {
        st = tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for gptq ([%lld, %lld])", tname, (long long)rows,
                    (long long)cols);
        goto out;
    }
    /* dead inputs, damping, order */
    double mean = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = H[i * n + i];
        if (d == 0.0) { dead[i] = 1; d = 1.0; }
        key[i].d = d;
        key[i].i = i;
        mean += d;
    }
    const double lambda = damp * mean / (double)n;
    if (o && o->act_order) qsort(key, (size_t)n, sizeof *key, by_diag_desc);
    for (int64_t a = 0; a < n; a++) { perm[a] = key[a].i; inv[key[a].i] = a; }
    for (int64_t a = 0; a < n; a++) {
        int64_t i = perm[a];
        for (int64_t b = 0; b < n; b++) {
            int64_t j = perm[b], lo = i < j ? i : j, hi = i < j ? j : i;
            U[a * n + b] = a == b ? (dead[i] ? 1.0 : H[i * n + i]) + lambda : H[lo * n + hi];
        }
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t a = 0; a < n; a++) W[r * n + a] = dead[perm[a]] ? 0.0 : (double)w[r * n + perm[a]];
    tq_blas_serial_enter();
    st = inverse_cholesky(U, n, tname, err);
    for (int64_t i1 = 0; i1 < n && !st; i1 += B) {
        const int64_t i2 = i1 + B < n ? i1 + B : n;
        for (int64_t i = i1; i < i2 && !st; i++) {
            const int64_t j = perm[i], k = tq_grid_block_of(&g, j);
            if (!gdone[k]) {   /* the group is reached: its scales from its current values */
                const int64_t c0 = k * g.glen, len = tq_grid_block_len(&g, k);
                for (int64_t r = 0; r < rows && !st; r++) {
                    for (int64_t c = 0; c < len; c++) {
                        int64_t a = inv[c0 + c];
                        double v = W[r * n + a];
                        if (a >= i2)   /* not yet updated by this block's errors */
                            for (int64_t t = i1; t < i; t++) v -= E[r * B + (t - i1)] * U[t * n + a];
                        x[c] = (float)v;
                    }
                    st = tq_grid_choose(&g, r, k, x, err);
                }
                gdone[k] = 1;
            }
            const double d = U[i * n + i];
            for (int64_t r = 0; r < rows && !st; r++) {
                double wv = W[r * n + i];
                float v;
                u[r * n + j] = tq_grid_code(&g, r, k, (float)wv, &v);
                double e = (wv - (double)v) / d;
                E[r * B + (i - i1)] = e;
                double *wr = W + r * n;
                const double *ur = U + i * n;
                for (int64_t t = i + 1; t < i2; t++) wr[t] -= e * ur[t];
            }
        }
        if (!st && i2 < n)
            tq_blas()->dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)(n - i2), (int)(i2 - i1), -1.0, E,
                        (int)B, U + i1 * n + i2, (int)n, 1.0, W + i2, (int)n);
    }
    tq_blas_serial_leave();
    if (!st) st = tq_grid_emit(&g, u, codes, aux, err);
out:
    free(U); free(W); free(E); free(u); free(perm); free(inv); free(key); free(dead); free(gdone); free(x);
    tq_grid_free(&g);
    return st;
}
