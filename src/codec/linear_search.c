/*
 * linear_search.c — better scales for the linear codecs (tq_qparams.method),
 * same stored format: only the scale (and zero point) of each block and the
 * codes they give change. Codes are always the codec's own rounding of the
 * block against the chosen scale/zero (linear.c), so every candidate is judged
 * on exactly the values it would decode to, and the RTN scale is always the
 * first candidate: a method is never worse than RTN on its own objective.
 *
 *   search  weighted squared error E = sum_i a_i (x'_i - x_i)^2 with the
 *           K-quant reference weights a_i = rms(x) + |x_i| (FORMATS.md §3.5).
 *           Candidates: the RTN range scaled by t in [0.50, 1.00] (51 steps),
 *           each followed by a weighted least-squares refit of the scale for
 *           its codes (and for affine the zero point z-1, z, z+1 around the
 *           one the range gives). The smallest E wins, RTN on ties.
 *   hqq     half-quadratic splitting of min sum_i |x'_i - x_i|^p, p = 0.7:
 *           an auxiliary error e is shrunk towards x - x' (generalised soft
 *           threshold, penalty beta growing by 1.01 per step), then the zero
 *           point (affine, rounded: the format stores it as U8) and the
 *           scale are refit in closed form against x - e; 20 steps from RTN.
 *           The iterate with the smallest sum |x'-x|^p is kept.
 */
#include "codec/linear_search.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>

static inline float rne_f(float x) {
    const float magic = 12582912.0f;
    return (x + magic) - magic;
}
static inline float clamp_f(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* the value x decodes to at scale s, zero z (affine) or signed (z < 0 = sym) */
static inline float decoded(float x, float s, int z, int qmax) {
    if (s <= 0.0f) return 0.0f;
    if (z < 0) return clamp_f(rne_f(x / s), (float)-qmax, (float)qmax) * s;
    float fu = (float)qmax, fz = (float)z;
    float u = clamp_f(rne_f(clamp_f(x / s, -fu - 1, fu + 1)) + fz, 0.0f, fu);
    return (float)((int)u - z) * s;
}
static inline float code_of(float x, float s, int z, int qmax) {
    if (s <= 0.0f) return 0.0f;
    if (z < 0) return clamp_f(rne_f(x / s), (float)-qmax, (float)qmax);
    float fu = (float)qmax;
    return clamp_f(rne_f(clamp_f(x / s, -fu - 1, fu + 1)) + (float)z, 0.0f, fu) - (float)z;
}

double tq_linsearch_error(int method, const float *x, int64_t n, float s, int z, int qmax) {
    double e = 0.0, ms = 0.0;
    if (method == TQ_QMETHOD_SEARCH) {
        for (int64_t i = 0; i < n; i++) ms += (double)x[i] * x[i];
        ms = n ? sqrt(ms / (double)n) : 0.0;
    }
    for (int64_t i = 0; i < n; i++) {
        double d = (double)decoded(x[i], s, z, qmax) - x[i];
        if (method == TQ_QMETHOD_SEARCH) e += (ms + fabs(x[i])) * d * d;
        else if (method == TQ_QMETHOD_HQQ) e += pow(fabs(d), 0.7);
        else e += d * d;
    }
    return e;
}

/* weighted least-squares scale for the codes of (s, z) against target t */
static float refit_scale(const float *x, const float *t, const double *a, int64_t n, float s, int z, int qmax) {
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double q = code_of(x[i], s, z, qmax), ai = a ? a[i] : 1.0;
        num += ai * q * t[i];
        den += ai * q * q;
    }
    double r = den > 0 ? num / den : 0.0;
    return r > 0 && r < FLT_MAX ? (float)r : s;
}

/* consider (s, z); keep it when strictly better */
static void consider(int method, const float *x, int64_t n, int qmax, float s, int z, float *bs, int *bz,
                     double *best) {
    if (!(s >= FLT_MIN && s < FLT_MAX)) return;
    if (z >= 0 && z > qmax) return;
    double e = tq_linsearch_error(method, x, n, s, z, qmax);
    if (e < *best) { *best = e; *bs = s; *bz = z; }
}

static int zero_for(float lo, float s, int umax) {
    float zf = nearbyintf(-lo / s);
    return zf < 0.0f ? 0 : zf > (float)umax ? umax : (int)zf;
}

static void search(const float *x, int64_t n, int qmax, bool affine, float *s, int *z, double *a) {
    float lo = 0.0f, hi = 0.0f;
    double ms = 0.0;
    for (int64_t i = 0; i < n; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; ms += (double)x[i] * x[i]; }
    ms = sqrt(ms / (double)n);
    for (int64_t i = 0; i < n; i++) a[i] = ms + fabs(x[i]);
    double best = tq_linsearch_error(TQ_QMETHOD_SEARCH, x, n, *s, *z, qmax);
    float s0 = *s;
    for (int k = 50; k >= 25; k--) {    /* t = k / 50 */
        float t = (float)k / 50.0f, sc = s0 * t;
        if (!(sc >= FLT_MIN)) continue;
        int zc = affine ? zero_for(lo * t, sc, qmax) : -1;
        for (int dz = affine ? -1 : 0; dz <= (affine ? 1 : 0); dz++) {
            int zz = affine ? zc + dz : -1;
            if (affine && (zz < 0 || zz > qmax)) continue;
            consider(TQ_QMETHOD_SEARCH, x, n, qmax, sc, zz, s, z, &best);
            consider(TQ_QMETHOD_SEARCH, x, n, qmax, refit_scale(x, x, a, n, sc, zz, qmax), zz, s, z, &best);
        }
    }
}

static void hqq(const float *x, int64_t n, int qmax, bool affine, float *s, int *z, float *t) {
    const double p = 0.7;
    double beta = 10.0, best = tq_linsearch_error(TQ_QMETHOD_HQQ, x, n, *s, *z, qmax);
    float cs = *s;
    int cz = *z;
    double lo = 0.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; }
    double scale_ref = hi - lo > 0 ? hi - lo : 1.0;
    for (int it = 0; it < 20; it++) {
        /* e-step: shrink the residual r = x - x' (lp, p < 1) */
        for (int64_t i = 0; i < n; i++) {
            double r = (double)x[i] - decoded(x[i], cs, cz, qmax), ar = fabs(r) / scale_ref;
            double sh = ar - pow(ar + 1e-8, p - 1.0) / beta;
            t[i] = (float)((double)x[i] - (sh > 0 ? (r > 0 ? sh : -sh) * scale_ref : 0.0));
        }
        /* zero point: the mean of u - (x - e)/s, rounded into the format */
        if (affine) {
            double m = 0.0;
            for (int64_t i = 0; i < n; i++) m += (code_of(x[i], cs, cz, qmax) + cz) - (double)t[i] / cs;
            double zf = nearbyint(m / (double)n);
            cz = zf < 0 ? 0 : zf > qmax ? qmax : (int)zf;
        }
        cs = refit_scale(x, t, NULL, n, cs, cz, qmax);
        consider(TQ_QMETHOD_HQQ, x, n, qmax, cs, cz, s, z, &best);
        beta *= 1.01;
    }
}

tq_status tq_linsearch_block(int method, const float *x, int64_t n, int qmax, bool affine, float *s, int *z,
                             tq_error *err) {
    if (method == TQ_QMETHOD_RTN || *s <= 0.0f || n <= 0) return TQ_OK;
    void *buf = malloc(sizeof(double) * (size_t)n);
    if (!buf) return tq_err(err, TQ_E_NOMEM, "out of memory for a block of %lld weights", (long long)n);
    if (!affine) *z = -1;
    if (method == TQ_QMETHOD_SEARCH) search(x, n, qmax, affine, s, z, buf);
    else hqq(x, n, qmax, affine, s, z, buf);
    if (!affine) *z = 0;
    free(buf);
    return TQ_OK;
}
