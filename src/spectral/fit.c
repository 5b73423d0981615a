/*
 * fit.c — WeightWatcher's default power-law fitter ("WWFit"), re-derived
 * from its definition (WEIGHTWATCHER.md §4.1):
 *
 *   input  x_0 <= x_1 <= ... <= x_{n-1}, all > 0
 *   for each candidate i = 0 .. n-2, with tail size k = n - i:
 *     α_i = 1 + k / (Σ_{j>=i} ln x_j - k ln x_i)        (continuous MLE)
 *     D_i = max_{m<k} |1 - (x_{i+m}/x_i)^{1-α_i} - m/k|  if α_i > 1, else 1
 *     σ_i = (α_i - 1) / √k
 *   pick the first i with the smallest D_i.
 *
 * The suffix sums Σ_{j>=i} ln x_j are accumulated once from the top, in a
 * fixed order, so the cost is O(n²) for the KS distances and O(n) for the
 * MLEs. (x_{i+m}/x_i)^{1-α} is evaluated as exp((1-α)(ln x_{i+m} - ln x_i)).
 */
#include "core/internal.h"
#include "trueq_spectral.h"

#include <math.h>
#include <stdlib.h>

tq_status tq_spectral_fit(const double *x, int64_t n, tq_spectral_plfit *fit, tq_error *err) {
    if (!fit) return tq_err(err, TQ_E_ARG, "spectral fit: NULL result");
    *fit = (tq_spectral_plfit){ .ok = 0, .xmin_index = -1, .alpha = -1, .xmin = -1, .xmax = NAN, .D = -1, .sigma = -1 };
    if (n < 0 || (n > 0 && !x)) return tq_err(err, TQ_E_ARG, "spectral fit: bad input (n = %lld)", (long long)n);
    if (n < 2) return tq_err(err, TQ_E_VALUE, "spectral fit: %lld eigenvalue(s) > 1e-5, at least 2 needed", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        if (!(x[i] > 0) || !isfinite(x[i]))
            return tq_err(err, TQ_E_ARG, "spectral fit: value %g at %lld is not finite and positive", x[i], (long long)i);
        if (i && x[i] < x[i - 1])
            return tq_err(err, TQ_E_ARG, "spectral fit: input not ascending at %lld", (long long)i);
    }
    double *lx = malloc((size_t)n * sizeof *lx), *suf = malloc((size_t)n * sizeof *suf);
    if (!lx || !suf) { free(lx); free(suf); return tq_err(err, TQ_E_NOMEM, "spectral fit: no memory for %lld values", (long long)n); }
    for (int64_t i = 0; i < n; i++) lx[i] = log(x[i]);
    double acc = 0;
    for (int64_t i = n - 1; i >= 0; i--) { acc += lx[i]; suf[i] = acc; }

    int64_t best = -1;
    double bestD = INFINITY, bestA = NAN;
    for (int64_t i = 0; i < n - 1; i++) {
        int64_t k = n - i;
        double kd = (double)k;
        double alpha = 1.0 + kd / (suf[i] - kd * lx[i]);
        double D = 1.0;
        if (alpha > 1) {
            double e = 1.0 - alpha, li = lx[i], dmax = 0;
            for (int64_t m = 0; m < k; m++) {
                double d = lx[i + m] - li;
                double t = d == 0 ? 1.0 : exp(e * d);   /* 1^(anything) = 1, also for α = ∞ */
                double v = fabs(1.0 - t - (double)m / kd);
                if (v > dmax) dmax = v;
            }
            D = dmax;
        }
        if (D < bestD) { bestD = D; best = i; bestA = alpha; }
    }
    free(lx);
    free(suf);
    if (best < 0 || !isfinite(bestA))
        return tq_err(err, TQ_E_VALUE, "spectral fit: alpha is not finite (%g)", bestA);
    fit->ok = 1;
    fit->xmin_index = best;
    fit->alpha = bestA;
    fit->xmin = x[best];
    fit->xmax = x[n - 1];
    fit->D = bestD;
    fit->n_tail = n - best;
    fit->sigma = (bestA - 1.0) / sqrt((double)(n - best));
    return TQ_OK;
}
