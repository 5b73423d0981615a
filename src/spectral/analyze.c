/*
 * analyze.c — spectral analysis of every tensor of a model, layers in
 * parallel on pthreads.
 *
 * Determinism: worker threads take tensor indices from a shared counter, but
 * each tensor is computed start to finish by one thread with single-threaded
 * BLAS/LAPACK and written to its own slot, so the report is the same bytes
 * for any thread count. OpenBLAS's thread count is set to 1 for the duration
 * of the call and restored afterwards (blas_threads.h).
 */
#include "core/internal.h"
#include "trueq_spectral.h"
#include "spectral/blas_threads.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct job {
    const tq_model      *m;
    const tq_spectral_opts  *o;
    tq_spectral_report      *r;
    const int64_t       *idx;     /* report row -> model tensor index         */
    pthread_mutex_t      mu;
    int64_t              next, done;
    int                  failed;
    int                  inner;   /* threads for one matrix's Gram slices     */
    tq_error             err;     /* first error, under mu */
} job;

static tq_status one_tensor(job *J, int64_t i, tq_error *err) {
    const tq_tensor *t = tq_model_tensor(J->m, J->idx[i]);
    tq_spectral_layer *L = &J->r->layers[i];
    memset(L, 0, sizeof *L);
    snprintf(L->name, sizeof L->name, "%s", t->name);
    L->index = J->idx[i];
    L->rows = t->ndim >= 1 ? t->shape[0] : 1;
    L->cols = t->ndim >= 2 ? t->shape[1] : 1;
    L->xmax = NAN;
    if (J->o->only && strcmp(J->o->only, t->name) != 0) {
        L->status = TQ_SPECTRAL_SKIPPED;
        snprintf(L->reason, sizeof L->reason, "not the selected tensor");
        return TQ_OK;
    }
    if (!tq_spectral_select(t->name, t->ndim, t->shape, L->reason, sizeof L->reason)) {
        L->status = TQ_SPECTRAL_SKIPPED;
        return TQ_OK;
    }
    if (!tq_dtype_is_float(t->dtype) && !t->quantized) {
        L->status = TQ_SPECTRAL_SKIPPED;
        snprintf(L->reason, sizeof L->reason, "dtype %s is not a float weight", tq_dtype_name(t->dtype));
        return TQ_OK;
    }
    int64_t rows = t->shape[0], cols = t->shape[1];
    int64_t M = rows < cols ? rows : cols, N = rows < cols ? cols : rows;
    float *w = malloc((size_t)t->numel * sizeof *w);
    double *sv = malloc((size_t)M * sizeof *sv);
    if (!w || !sv) {
        free(w); free(sv);
        return tq_err(err, TQ_E_NOMEM, "spectrum: no memory to decode tensor \"%s\" (%lld elements)",
                      t->name, (long long)t->numel);
    }
    tq_status st = tq_model_tensor_f32(J->m, t, w, err);
    if (st == TQ_OK && J->o->transform) st = J->o->transform(J->o->transform_ctx, t->name, w, rows, cols, err);
    tq_spectral_svd used = J->o->svd;
    if (st == TQ_OK) st = tq_spectral_svals_threads(w, rows, cols, J->o->svd, J->inner, sv, &used, err);
    free(w);
    if (st != TQ_OK) {
        free(sv);
        if (st == TQ_E_NOMEM || st == TQ_E_IO)
            return tq_err_prefix(err, st, "tensor \"%s\"", t->name);
        /* A problem of this tensor alone (NaN/Inf weights, LAPACK not
         * converging, a transform that cannot handle it): the row says so and
         * the other tensors go on. WeightWatcher's failure values. */
        L->status = TQ_SPECTRAL_FAILED;
        snprintf(L->reason, sizeof L->reason, "%.150s", err->msg);
        L->N = N; L->M = M; L->Q = (double)N / (double)M; L->num_evals = M;
        L->alpha = L->D = L->sigma = L->xmin = -1;
        L->num_pl_spikes = L->xmin_index = -1;
        L->alpha_weighted = L->log_alpha_norm = L->norm = L->log_norm = L->spectral_norm = NAN;
        L->log_spectral_norm = L->stable_rank = L->lambda_max = L->sv_max = L->sv_min = L->entropy = NAN;
        L->rank_loss = L->weak_rank_loss = L->matrix_rank = L->num_fit_evals = -1;
        L->warning = TQ_SPECTRAL_WARN_OVER_TRAINED;
        tq_err_clear(err);
        return TQ_OK;
    }
    L->svd_used = used;
    tq_spectral_metrics(sv, M, N, L);
    if (J->o->keep_evals) {
        for (int64_t k = 0; k < M; k++) sv[k] = sv[k] * sv[k];
        J->r->evals[i] = sv;
    } else {
        free(sv);
    }
    return TQ_OK;
}

static void *worker(void *arg) {
    job *J = arg;
    int64_t n = J->r->n;
    for (;;) {
        pthread_mutex_lock(&J->mu);
        int64_t i = J->failed ? n : J->next++;
        pthread_mutex_unlock(&J->mu);
        if (i >= n) break;
        tq_error e;
        tq_err_clear(&e);
        tq_status st = one_tensor(J, i, &e);
        pthread_mutex_lock(&J->mu);
        if (st != TQ_OK && !J->failed) { J->failed = 1; J->err = e; }
        J->done++;
        if (J->o->progress) J->o->progress(J->o->progress_ctx, J->done, n, J->r->layers[i].name);
        pthread_mutex_unlock(&J->mu);
    }
    return NULL;
}

static bool wanted(const tq_spectral_opts *o, const char *name) {
    if (!o->tensors || o->n_tensors <= 0) return true;
    for (int k = 0; k < o->n_tensors; k++)
        if (o->tensors[k] && tq_glob_match(o->tensors[k], name)) return true;
    return false;
}

/* The model indices the report covers (opts.tensors) into *idx, their count
 * into *count. */
static tq_status select_rows(const tq_model *m, const tq_spectral_opts *o, int64_t **idx, int64_t *count, tq_error *err) {
    int64_t n = tq_model_count(m), k = 0;
    *idx = malloc((size_t)(n ? n : 1) * sizeof **idx);
    if (!*idx) return tq_err(err, TQ_E_NOMEM, "spectrum: no memory for %lld report rows", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (wanted(o, tq_model_tensor(m, i)->name)) (*idx)[k++] = i;
    for (int g = 0; o->tensors && g < o->n_tensors; g++) {
        int64_t hit = 0;
        for (int64_t i = 0; i < n && !hit; i++) hit = o->tensors[g] && tq_glob_match(o->tensors[g], tq_model_tensor(m, i)->name);
        if (!hit) {
            free(*idx);
            *idx = NULL;
            return tq_err(err, TQ_E_NOTFOUND, "spectrum: tensor glob \"%s\" matches no tensor of the model (%lld tensors)",
                          o->tensors[g] ? o->tensors[g] : "(null)", (long long)n);
        }
    }
    *count = k;
    return TQ_OK;
}

tq_status tq_spectral_analyze(const tq_model *m, const tq_spectral_opts *opts, tq_spectral_report *out, tq_error *err) {
    if (!m || !out) return tq_err(err, TQ_E_ARG, "spectrum: NULL model or report");
    memset(out, 0, sizeof *out);
    tq_spectral_opts o = {0};
    if (opts) o = *opts;
    int64_t *idx = NULL, n = 0;
    tq_status sst = select_rows(m, &o, &idx, &n, err);
    if (sst != TQ_OK) return sst;
    out->n = n;
    out->layers = calloc(n ? (size_t)n : 1, sizeof *out->layers);
    out->evals = calloc(n ? (size_t)n : 1, sizeof *out->evals);
    if (!out->layers || !out->evals) {
        free(idx);
        tq_spectral_report_free(out);
        return tq_err(err, TQ_E_NOMEM, "spectrum: no memory for %lld report rows", (long long)n);
    }
    int threads = o.threads;
    if (threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    if (threads > 256) threads = 256;
    /* Fewer matrices than threads (a single big matrix, say): the spare
     * threads go to the Gram slices of each matrix instead. */
    int64_t nsel = 0;
    for (int64_t i = 0; i < n; i++) {
        const tq_tensor *t = tq_model_tensor(m, idx[i]);
        char why[8];
        nsel += (!o.only || !strcmp(o.only, t->name)) && tq_spectral_select(t->name, t->ndim, t->shape, why, sizeof why);
    }
    int inner = nsel > 0 && nsel < threads ? (int)(threads / nsel) : 1;
    if (threads > n) threads = n > 0 ? (int)n : 1;

    job J = { .m = m, .o = &o, .r = out, .idx = idx, .inner = inner };
    pthread_mutex_init(&J.mu, NULL);
    tq_blas_serial_enter();
    pthread_t tid[256];
    int started = 0;
    for (int k = 1; k < threads; k++) {
        if (pthread_create(&tid[started], NULL, worker, &J) != 0) break;
        started++;
    }
    worker(&J);
    for (int k = 0; k < started; k++) pthread_join(tid[k], NULL);
    tq_blas_serial_leave();
    pthread_mutex_destroy(&J.mu);
    free(idx);
    if (J.failed) {
        if (err) *err = J.err;
        tq_spectral_report_free(out);
        return J.err.status;
    }
    for (int64_t i = 0; i < n; i++) out->analysed += out->layers[i].status != TQ_SPECTRAL_SKIPPED;
    return TQ_OK;
}

void tq_spectral_report_free(tq_spectral_report *r) {
    if (!r) return;
    for (int64_t i = 0; r->evals && i < r->n; i++) free(r->evals[i]);
    free(r->evals);
    free(r->layers);
    memset(r, 0, sizeof *r);
}
