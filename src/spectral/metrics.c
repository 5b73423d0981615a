/*
 * metrics.c — WeightWatcher's default per-layer columns from a layer's
 * singular values, and the get_summary() means (WEIGHTWATCHER.md §2, §5, §6).
 *
 * Everything is computed from the full ESD λ_i = σ_i² (all M values, also
 * those <= 1e-5) except the fit, which sees only λ > 1e-5. Sums run in
 * ascending order of λ, sequentially, so the numbers do not depend on the
 * thread that computes them.
 */
#include "core/internal.h"
#include "trueq_spectral.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TQ_SPECTRAL_ENTROPY_EPS 1e-10  /* WeightWatcher's EPSILON on the CPU path */

const char *tq_spectral_status_str(tq_spectral_status s) {
    switch (s) {
    case TQ_SPECTRAL_OK: return "ok";
    case TQ_SPECTRAL_SKIPPED: return "skipped";
    case TQ_SPECTRAL_TOO_FEW: return "too-few-evals";
    case TQ_SPECTRAL_FAILED: return "failed";
    }
    return "?";
}

const char *tq_spectral_warning_str(tq_spectral_warning w) {
    switch (w) {
    case TQ_SPECTRAL_WARN_NONE: return "";
    case TQ_SPECTRAL_WARN_OVER_TRAINED: return "over-trained";
    case TQ_SPECTRAL_WARN_UNDER_TRAINED: return "under-trained";
    }
    return "?";
}

void tq_spectral_metrics(const double *sv, int64_t M, int64_t N, tq_spectral_layer *o) {
    o->N = N;
    o->M = M;
    o->Q = (double)N / (double)M;
    o->num_evals = M;
    o->reason[0] = 0;

    /* Singular-value columns. */
    double svmax = 0, svmin = INFINITY;
    for (int64_t i = 0; i < M; i++) {
        if (sv[i] > svmax) svmax = sv[i];
        if (sv[i] < svmin) svmin = sv[i];
    }
    o->sv_max = svmax;
    o->sv_min = svmin > 0 ? svmin : 0;
    double tol = svmax * (double)N * DBL_EPSILON;
    int64_t rank = 0;
    for (int64_t i = 0; i < M; i++) rank += sv[i] > tol;
    o->rank_loss = M - rank;

    /* Eigenvalues, ascending (sv is ascending and >= 0). */
    double *ev = malloc((size_t)M * sizeof *ev);
    if (!ev) {
        o->status = TQ_SPECTRAL_FAILED;
        snprintf(o->reason, sizeof o->reason, "no memory for %lld eigenvalues", (long long)M);
        return;
    }
    double lmax = 0, sum = 0;
    int64_t weak = 0, nfit = 0;
    for (int64_t i = 0; i < M; i++) {
        ev[i] = sv[i] * sv[i];
        if (ev[i] > lmax) lmax = ev[i];
        sum += ev[i];
        weak += ev[i] < TQ_SPECTRAL_WEAK_RANK_TOL;
        nfit += ev[i] > TQ_SPECTRAL_EVALS_THRESH;
    }
    o->weak_rank_loss = weak;
    o->lambda_max = lmax;
    o->num_fit_evals = nfit;
    o->norm = sum;
    o->log_norm = log10(sum);
    o->spectral_norm = lmax;
    o->log_spectral_norm = log10(lmax);
    o->stable_rank = sum / lmax;

    /* matrix_rank and entropy use √λ, as WeightWatcher does. */
    double smax = sqrt(lmax), stol = smax * (double)N * DBL_EPSILON;
    int64_t hrank = 0;
    for (int64_t i = 0; i < M; i++) hrank += sqrt(ev[i]) > stol;
    o->matrix_rank = hrank;
    double h = 0;
    for (int64_t i = 0; i < M; i++) {
        double p = ev[i] / sum + TQ_SPECTRAL_ENTROPY_EPS;
        h += p * log(p);
    }
    o->entropy = -h / log((double)hrank + TQ_SPECTRAL_ENTROPY_EPS);

    /* The fit, on λ > 1e-5 (a suffix of the ascending list). */
    tq_spectral_plfit fit;
    tq_error ferr;
    tq_status fst = tq_spectral_fit(ev + (M - nfit), nfit, &fit, &ferr);
    if (fst == TQ_OK) {
        o->status = TQ_SPECTRAL_OK;
        o->alpha = fit.alpha;
        o->D = fit.D;
        o->sigma = fit.sigma;
        o->xmin = fit.xmin;
        o->xmax = fit.xmax;
        o->xmin_index = fit.xmin_index;
        int64_t spikes = 0;
        for (int64_t i = 0; i < M; i++) spikes += ev[i] >= fit.xmin;
        o->num_pl_spikes = spikes;
    } else {
        o->status = nfit < 2 ? TQ_SPECTRAL_TOO_FEW : TQ_SPECTRAL_FAILED;
        if (nfit < 2)
            snprintf(o->reason, sizeof o->reason, "%lld of %lld eigenvalues > 1e-5; the fit needs 2",
                     (long long)nfit, (long long)M);
        else
            snprintf(o->reason, sizeof o->reason, "%.150s", ferr.msg);
        o->alpha = o->D = o->sigma = o->xmin = -1;
        o->xmax = NAN;
        o->xmin_index = -1;
        o->num_pl_spikes = -1;
    }

    double a = o->alpha;
    o->alpha_weighted = a * o->log_spectral_norm;
    double s = 0;
    for (int64_t i = 0; i < M; i++) s += pow(ev[i], a);
    o->log_alpha_norm = log10(s);
    o->warning = a < TQ_SPECTRAL_OVER_TRAINED ? TQ_SPECTRAL_WARN_OVER_TRAINED
               : a > TQ_SPECTRAL_UNDER_TRAINED ? TQ_SPECTRAL_WARN_UNDER_TRAINED : TQ_SPECTRAL_WARN_NONE;
    free(ev);
}

tq_status tq_spectral_matrix(const float *w, int64_t rows, int64_t cols, tq_spectral_svd method,
                             tq_spectral_layer *out, tq_error *err) {
    int64_t M = rows < cols ? rows : cols, N = rows < cols ? cols : rows;
    if (M <= 0) return tq_err(err, TQ_E_SHAPE, "spectrum: empty %lld x %lld matrix", (long long)rows, (long long)cols);
    double *sv = malloc((size_t)M * sizeof *sv);
    if (!sv) return tq_err(err, TQ_E_NOMEM, "spectrum: no memory for %lld singular values", (long long)M);
    tq_spectral_svd used = method;
    tq_status st = tq_spectral_svals(w, rows, cols, method, sv, &used, err);
    if (st == TQ_OK) {
        out->rows = rows;
        out->cols = cols;
        out->svd_used = used;
        tq_spectral_metrics(sv, M, N, out);
    }
    free(sv);
    return st;
}

void tq_spectral_summarize(const tq_spectral_layer *L, int64_t n, tq_spectral_summary *s) {
    /* Like pandas' mean: per column, over the analysed rows where it is not NaN. */
    memset(s, 0, sizeof *s);
    double sum[6] = {0};
    int64_t cnt[6] = {0};
    for (int64_t i = 0; i < n; i++) {
        if (L[i].status == TQ_SPECTRAL_SKIPPED) continue;
        s->n++;
        const double v[6] = { L[i].log_norm, L[i].alpha, L[i].alpha_weighted, L[i].log_alpha_norm,
                              L[i].log_spectral_norm, L[i].stable_rank };
        for (int k = 0; k < 6; k++)
            if (!isnan(v[k])) { sum[k] += v[k]; cnt[k]++; }
    }
    double m[6];
    for (int k = 0; k < 6; k++) m[k] = cnt[k] ? sum[k] / (double)cnt[k] : NAN;
    s->log_norm = m[0]; s->alpha = m[1]; s->alpha_weighted = m[2];
    s->log_alpha_norm = m[3]; s->log_spectral_norm = m[4]; s->stable_rank = m[5];
}
