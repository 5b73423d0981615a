/*
 * esd.c — singular values of a weight matrix and WeightWatcher's selection
 * rule for which tensors get an ESD.
 *
 * Two routes, both float64 (see trueq_spectral.h, tq_spectral_svd):
 *   GESDD  LAPACK dgesdd, jobz='N', on W itself: the reference route, the
 *          one WeightWatcher's CPU path takes (scipy.linalg.svd).
 *   AUTO   for N >= 2M, the M×M Gram matrix G = WᵀW (or WWᵀ) by dsyrk and
 *          its eigenvalues by dsyevd. About 5x cheaper for a 768×3072 matrix,
 *          but its absolute error is of order M·ε·λ_max, so it is accepted
 *          only when that bound is at most 1e-9 of the smallest eigenvalue
 *          and no eigenvalue sits within the bound of the 1e-5 / 1e-6
 *          thresholds; otherwise the matrix goes through dgesdd.
 *
 * Layout trick: a row-major rows×cols matrix is, read column-major, its
 * transpose (cols×rows, lda = cols). Singular values are invariant under
 * transposition, so LAPACK gets the buffer without a copy.
 */
#include "core/internal.h"
#include "trueq_spectral.h"
#include "spectral/blas_threads.h"
#include "core/blas.h"

#include <pthread.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int tq_spectral_select(const char *name, int ndim, const int64_t *shape, char *why, size_t cap) {
    TQ_UNUSED(name);
    if (ndim != 2) {
        if (ndim <= 1) snprintf(why, cap, "%d-D tensor (bias or norm gain): not a weight matrix", ndim);
        else if (ndim == 4) snprintf(why, cap, "4-D tensor (Conv2D): not analysed by trueq");
        else snprintf(why, cap, "%d-D tensor: WeightWatcher analyses only 2-D (dense) weights", ndim);
        return 0;
    }
    int64_t N = shape[0] > shape[1] ? shape[0] : shape[1];
    int64_t M = shape[0] > shape[1] ? shape[1] : shape[0];
    if (M < TQ_SPECTRAL_MIN_EVALS) {
        snprintf(why, cap, "M = %lld < %d (min_evals)", (long long)M, TQ_SPECTRAL_MIN_EVALS);
        return 0;
    }
    if (M > TQ_SPECTRAL_MAX_EVALS) {
        snprintf(why, cap, "M = %lld > %d (max_evals)", (long long)M, TQ_SPECTRAL_MAX_EVALS);
        return 0;
    }
    if (N > TQ_SPECTRAL_MAX_N) {
        snprintf(why, cap, "N = %lld > %d (max_N)", (long long)N, TQ_SPECTRAL_MAX_N);
        return 0;
    }
    if (why && cap) why[0] = 0;
    return 1;
}

/* dgesdd on a (cols×rows column-major) copy; a is overwritten. sv ascending. */
static tq_status svals_gesdd(double *a, int64_t rows, int64_t cols, double *sv, tq_error *err) {
    int64_t M = rows < cols ? rows : cols;
    lapack_int info = tq_blas()->dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)cols, (lapack_int)rows, a,
                                     (lapack_int)cols, sv, NULL, 1, NULL, 1);
    if (info == TQ_LAPACK_MISSING)
        return tq_err(err, TQ_E_UNSUPPORTED, "singular values of a %lld x %lld matrix need LAPACK's dgesdd, and "
                      "LAPACKE could not be loaded (tq_blas_info, trueq --version: why)", (long long)rows, (long long)cols);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return tq_err(err, TQ_E_NOMEM, "dgesdd: out of memory for a %lld x %lld matrix",
                      (long long)rows, (long long)cols);
    if (info != 0)
        return tq_err(err, TQ_E_INTERNAL, "dgesdd did not converge (info %d) on a %lld x %lld matrix",
                      (int)info, (long long)rows, (long long)cols);
    /* LAPACK returns them descending: reverse. */
    for (int64_t i = 0, j = M - 1; i < j; i++, j--) { double t = sv[i]; sv[i] = sv[j]; sv[j] = t; }
    return TQ_OK;
}

static int near_thresh(double e, double errb, double thr) { return fabs(e - thr) <= errb; }

/* Gram route. Returns 1 when accepted (sv filled), 0 when the caller must
 * use dgesdd, -1 on error (err set). */
/* The Gram matrix is summed over a fixed number of slices of the long
 * dimension, G = Σ_b W_bᵀW_b, added in slice order: the slices may run on
 * several threads, and since the split depends only on the shape, the bytes
 * of G do not depend on how many threads computed it. */
#define GRAM_SLICE 1536      /* long-dimension rows per slice (at least)   */
#define GRAM_MAX_SLICES 8
#define GRAM_SLICED_MAX_M 4096  /* above this, one slice (memory: slices·M²) */

typedef struct gram_job {
    const double *a;
    int64_t rows, cols, M, K, nb;
    double *g;               /* nb Gram matrices, M*M each */
    int next;
    pthread_mutex_t mu;
} gram_job;

static void gram_slice(gram_job *J, int64_t b) {
    int64_t k0 = J->K * b / J->nb, k1 = J->K * (b + 1) / J->nb;
    double *g = J->g + (size_t)b * (size_t)J->M * (size_t)J->M;
    if (J->rows >= J->cols)  /* G = WᵀW: A = Wᵀ (cols×rows, lda cols); slice = rows k0..k1 of W */
        tq_blas()->dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (blasint)J->cols, (blasint)(k1 - k0), 1.0,
                    J->a + k0 * J->cols, (blasint)J->cols, 0.0, g, (blasint)J->M);
    else                     /* G = WWᵀ = AᵀA; slice = columns k0..k1 of W = rows of A */
        tq_blas()->dsyrk(CblasColMajor, CblasUpper, CblasTrans, (blasint)J->rows, (blasint)(k1 - k0), 1.0,
                    J->a + k0, (blasint)J->cols, 0.0, g, (blasint)J->M);
}

static void *gram_worker(void *arg) {
    gram_job *J = arg;
    for (;;) {
        pthread_mutex_lock(&J->mu);
        int64_t b = J->next++;
        pthread_mutex_unlock(&J->mu);
        if (b >= J->nb) return NULL;
        gram_slice(J, b);
    }
}

/* Gram route. Returns 1 when accepted (sv filled), 0 when the caller must
 * use dgesdd, -1 on error (err set). */
static int svals_gram(const double *a, int64_t rows, int64_t cols, int threads, double *sv, tq_error *err) {
    int64_t M = rows < cols ? rows : cols, K = rows < cols ? cols : rows;
    int64_t nb = K / GRAM_SLICE;
    if (nb < 1 || M > GRAM_SLICED_MAX_M) nb = 1;
    if (nb > GRAM_MAX_SLICES) nb = GRAM_MAX_SLICES;
    gram_job J = { .a = a, .rows = rows, .cols = cols, .M = M, .K = K, .nb = nb };
    J.g = calloc((size_t)nb * (size_t)M * (size_t)M, sizeof *J.g);
    if (!J.g) { tq_err(err, TQ_E_NOMEM, "spectrum: no memory for a %lld x %lld Gram matrix", (long long)M, (long long)M); return -1; }
    pthread_mutex_init(&J.mu, NULL);
    pthread_t tid[GRAM_MAX_SLICES];
    int started = 0;
    for (int t = 1; t < threads && t < nb; t++)
        if (pthread_create(&tid[started], NULL, gram_worker, &J) == 0) started++;
    gram_worker(&J);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&J.mu);
    double *g = J.g;
    size_t mm = (size_t)M * (size_t)M;
    for (int64_t b = 1; b < nb; b++)
        for (size_t i = 0; i < mm; i++) g[i] += g[(size_t)b * mm + i];
    lapack_int info = tq_blas()->dsyevd(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)M, g, (lapack_int)M, sv);
    free(g);
    if (info != 0) return 0;  /* let dgesdd try */
    /* sv now holds λ ascending. Accept only when provably accurate enough. */
    double emax = sv[M - 1], emin = sv[0];
    if (!(emax > 0) || !(emin > 0)) return 0;
    double errb = (double)M * DBL_EPSILON * emax;
    if (errb > 1e-9 * emin) return 0;
    for (int64_t i = 0; i < M; i++)
        if (near_thresh(sv[i], errb, TQ_SPECTRAL_EVALS_THRESH) || near_thresh(sv[i], errb, TQ_SPECTRAL_WEAK_RANK_TOL))
            return 0;
    for (int64_t i = 0; i < M; i++) sv[i] = sqrt(sv[i]);
    return 1;
}

tq_status tq_spectral_svals(const float *w, int64_t rows, int64_t cols, tq_spectral_svd method,
                            double *sv, tq_spectral_svd *used, tq_error *err) {
    return tq_spectral_svals_threads(w, rows, cols, method, 1, sv, used, err);
}

tq_status tq_spectral_svals_threads(const float *w, int64_t rows, int64_t cols, tq_spectral_svd method, int threads,
                                double *sv, tq_spectral_svd *used, tq_error *err) {
    if (!w || !sv || rows <= 0 || cols <= 0)
        return tq_err(err, TQ_E_ARG, "spectrum: bad matrix argument (%lld x %lld)", (long long)rows, (long long)cols);
    if (method != TQ_SPECTRAL_SVD_AUTO && method != TQ_SPECTRAL_SVD_GESDD)
        return tq_err(err, TQ_E_ARG, "spectrum: unknown SVD method %d", (int)method);
    uint64_t n;
    if (!tq_mul_u64((uint64_t)rows, (uint64_t)cols, &n) || n > (uint64_t)INT32_MAX)
        return tq_err(err, TQ_E_LIMIT, "spectrum: a %lld x %lld matrix exceeds LAPACK's 32-bit index limit",
                      (long long)rows, (long long)cols);
    double *a = malloc((size_t)n * sizeof *a);
    if (!a) return tq_err(err, TQ_E_NOMEM, "spectrum: no memory for a %lld x %lld float64 copy",
                          (long long)rows, (long long)cols);
    for (uint64_t i = 0; i < n; i++) {
        if (!isfinite(w[i])) {
            free(a);
            return tq_err(err, TQ_E_VALUE, "spectrum: non-finite weight %g at flat index %llu (row %llu, col %llu)",
                          (double)w[i], (unsigned long long)i, (unsigned long long)(i / (uint64_t)cols),
                          (unsigned long long)(i % (uint64_t)cols));
        }
        a[i] = (double)w[i];
    }
    tq_blas_serial_enter();
    tq_status st = TQ_OK;
    tq_spectral_svd u = TQ_SPECTRAL_SVD_GESDD;
    int ok = 0;
    /* A square-ish matrix (N < 2M) has, unless structured, eigenvalues down
     * near zero (the Marchenko-Pastur lower edge is σ²(√N-√M)²), where the
     * Gram route cannot be accepted: skip the attempt there. */
    int64_t N = rows > cols ? rows : cols, M = rows > cols ? cols : rows;
    if (method == TQ_SPECTRAL_SVD_AUTO && N >= 2 * M) {
        ok = svals_gram(a, rows, cols, threads, sv, err);
        if (ok < 0) { free(a); tq_blas_serial_leave(); return err ? err->status : TQ_E_NOMEM; }
        if (ok) u = TQ_SPECTRAL_SVD_AUTO;
    }
    if (!ok) st = svals_gesdd(a, rows, cols, sv, err);
    tq_blas_serial_leave();
    free(a);
    if (st == TQ_OK && used) *used = u;
    return st;
}
