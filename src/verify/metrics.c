/*
 * metrics.c — weight-level error metrics of one tensor (definitions in
 * include/trueq_verify.h), pooling, and grades.
 */
#include "core/internal.h"
#include "codec/codec.h"
#include "trueq_verify.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* |x|, NaN ordered above everything (so selection stays well defined) */
static inline float mag(float x) { return isnan(x) ? INFINITY : fabsf(x); }

/* k-th largest (1-based) of a[0..n) by quickselect; reorders a. */
static float kth_largest(float *a, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1, want = k - 1;   /* index in descending order */
    while (lo < hi) {
        /* median of three as pivot: deterministic */
        int64_t mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi];
        float piv = (x > y) ? ((y > z) ? y : (x > z ? z : x)) : ((x > z) ? x : (y > z ? z : y));
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] > piv) i++;
            while (a[j] < piv) j--;
            if (i <= j) { float t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else break;
    }
    return a[want];
}

void tq_verify_finish(tq_verify_metrics *m) {
    double n = (double)m->n;
    m->mse = m->n ? m->sum_e2 / n : 0.0;
    m->rmse = sqrt(m->mse);
    m->rel_fro = m->sum_w2 > 0 ? sqrt(m->sum_e2 / m->sum_w2) : (m->sum_e2 > 0 ? INFINITY : 0.0);
    m->snr_db = m->sum_e2 > 0 ? (m->sum_w2 > 0 ? 10.0 * log10(m->sum_w2 / m->sum_e2) : -INFINITY) : INFINITY;
    if (m->sum_w2 > 0 && m->sum_q2 > 0) m->cosine = m->sum_wq / sqrt(m->sum_w2 * m->sum_q2);
    else m->cosine = (m->sum_w2 == 0 && m->sum_q2 == 0) ? 1.0 : 0.0;
    if (isnan(m->sum_e2) || isnan(m->sum_w2)) m->rel_fro = m->snr_db = NAN;
    m->clipped_frac = m->n ? (double)m->n_clipped / n : 0.0;
    m->top_rel_err = m->top_w2 > 0 ? sqrt(m->top_e2 / m->top_w2) : (m->top_e2 > 0 ? INFINITY : 0.0);
}

void tq_verify_pool(tq_verify_metrics *acc, const tq_verify_metrics *m) {
    acc->n += m->n;
    acc->n_clipped += m->n_clipped;
    acc->n_top += m->n_top;
    acc->sum_w2 += m->sum_w2;
    acc->sum_e2 += m->sum_e2;
    acc->sum_wq += m->sum_wq;
    acc->sum_q2 += m->sum_q2;
    acc->top_w2 += m->top_w2;
    acc->top_e2 += m->top_e2;
    if (m->max_abs > acc->max_abs || isnan(m->max_abs)) acc->max_abs = m->max_abs;
    if (m->top_max_abs > acc->top_max_abs || isnan(m->top_max_abs)) acc->top_max_abs = m->top_max_abs;
}

char tq_verify_grade(double snr_db) {
    if (isnan(snr_db)) return 'F';
    return snr_db >= 40 ? 'A' : snr_db >= 30 ? 'B' : snr_db >= 20 ? 'C' : snr_db >= 10 ? 'D' : 'F';
}

/* clipping count over blocks of [rows, cols] with ranges lohi (NULL: tensor range of q) */
static int64_t count_clipped(const float *w, const float *q, int64_t rows, int64_t cols, const tq_qparams *p,
                             const float *lohi) {
    int64_t n = rows * cols, clipped = 0;
    if (!lohi) {
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++) { if (q[i] < lo) lo = q[i]; if (q[i] > hi) hi = q[i]; }
        if (lo > hi) return 0;
        double tol = 1e-6 * fmax(fabs((double)lo), fabs((double)hi));
        for (int64_t i = 0; i < n; i++) clipped += (double)w[i] > (double)hi + tol || (double)w[i] < (double)lo - tol;
        return clipped;
    }
    int64_t glen = cols, ng = 1;
    if (p->gran == TQ_GRAN_GROUP) ng = tq_groups_per_row(p, cols, &glen);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            int64_t b = p->gran == TQ_GRAN_TENSOR ? 0 : p->gran == TQ_GRAN_CHANNEL ? r : r * ng + c / glen;
            double lo = lohi[2 * b], hi = lohi[2 * b + 1], tol = 1e-6 * fmax(fabs(lo), fabs(hi)), v = w[r * cols + c];
            clipped += v > hi + tol || v < lo - tol;
        }
    return clipped;
}

tq_status tq_verify_tensor(const float *w, const float *q, int64_t rows, int64_t cols, const tq_qparams *q_blocks,
                           const float *lohi, tq_verify_metrics *m, tq_error *err) {
    memset(m, 0, sizeof *m);
    int64_t n = rows * cols;
    m->n = n;
    double mx = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double a = w[i], b = q[i], e = a - b;
        m->sum_w2 += a * a;
        m->sum_e2 += e * e;
        m->sum_wq += a * b;
        m->sum_q2 += b * b;
        double ae = fabs(e);
        if (ae > mx || isnan(ae)) mx = ae;
    }
    m->max_abs = mx;
    m->n_clipped = count_clipped(w, q, rows, cols, q_blocks, lohi);
    if (n > 0) {
        int64_t k = (n + 999) / 1000;
        float *a = malloc(sizeof(float) * (size_t)n);
        if (!a) return tq_err(err, TQ_E_NOMEM, "out of memory for %lld magnitudes", (long long)n);
        for (int64_t i = 0; i < n; i++) a[i] = mag(w[i]);
        float t = kth_largest(a, n, k);
        free(a);
        int64_t above = 0;
        for (int64_t i = 0; i < n; i++) above += mag(w[i]) > t;
        int64_t ties = k - above;   /* take this many |w| == t, lowest index first */
        double tm = 0.0;
        for (int64_t i = 0; i < n; i++) {
            float aw = mag(w[i]);
            bool take = aw > t || (aw == t && ties-- > 0);
            if (!take) continue;
            double e = (double)w[i] - (double)q[i];
            m->top_w2 += (double)w[i] * (double)w[i];
            m->top_e2 += e * e;
            if (fabs(e) > tm || isnan(e)) tm = fabs(e);
        }
        m->n_top = k;
        m->top_max_abs = tm;
    }
    tq_verify_finish(m);
    return TQ_OK;
}
