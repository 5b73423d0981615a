/*
 * qins_rational.c — the seeds' "QINS" rational codec, 8 bits.
 *
 * Encoding (the seeds' formula), per block (tensor, or one row with channel
 * granularity), in double:
 *     e = sign(w) / (1 + alpha * |w|)        in [-1, 1]
 *     u = clamp(round_half_even((e + 1) * 127.5), 0, 255)   stored as U8
 * computed as u = round_half_even((|e| + 1) * 127.5) for w > 0 and 255 minus
 * that for w < 0: the same codes except at exact .5 ties, and the sign can never
 * flip (for |w| near FLT_MAX, (e + 1) * 127.5 rounds to exactly 127.5 in
 * double, which the plain formula would send to the positive code 128).
 * Large |w| map near e = 0 (codes 127/128), small |w| near e = +-1 (codes 255/0).
 *
 * Singular points, and how they are handled:
 *   - w = 0 exactly: sign(0) = 0 would give e = 0, the same point as |w| = inf.
 *     It is encoded as the limit w -> 0+, e = +1, code 255, which decodes to
 *     exactly 0. (Code 0, e = -1, decodes to -0.0.) Zeros round-trip to 0.
 *   - e = 0 is never a code centre (127.5 is not an integer), and every
 *     decoded value is clipped to [0, wmax], so decoding is always finite.
 *   - Large weights: the codes next to e = 0 cover huge intervals of |w|
 *     (code 128 covers |w| >= 126.5/alpha up to infinity). Decoding each code
 *     at its centre e' = u/127.5 - 1 (the seeds' inverse) would put code 128
 *     at 254/alpha whatever the weights were. Instead each code is decoded to
 *     the midpoint, in w, of the interval of |w| that encodes to it, clipped to
 *     [0, wmax] where wmax = max|w| of the block is stored beside alpha. This
 *     is the reconstruction with the smallest worst-case error the code allows;
 *     codes 0 and 255 stay exactly 0 so zeros round-trip.
 *
 * alpha: tq_qparams.alpha > 0 uses that value (the seeds' default is 1);
 * alpha = 0 calibrates per block: alpha = beta / wmax with beta on the grid
 * 2^(k/2), k = -4..24 (0.25 .. 4096), choosing the beta with the smallest sum
 * of squared reconstruction errors over at most 65536 weights of the block
 * taken at a fixed stride (ties: the smaller beta). Deterministic.
 *
 * Storage: codes U8 [rows, cols]; F32 "__alpha__" {alpha, wmax}: shape [2]
 * (tensor) or [rows, 2] (channel). Decoding needs nothing else (the descriptor's
 * alpha only records what was asked for; 0 = calibrated).
 * Decoding validates the side tensor (finite alpha > 0, finite wmax >= 0).
 */
#include "codec/codec.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int rat_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                      tq_aux_desc aux[TQ_MAX_AUX]) {
    if (p->bits != 8) return -1;
    if (p->gran != TQ_GRAN_TENSOR && p->gran != TQ_GRAN_CHANNEL) return -1;
    if (!(p->alpha >= 0.0f) || !isfinite(p->alpha)) return -1;
    *cd = TQ_DTYPE_U8;
    cs[0] = rows;
    cs[1] = cols;
    aux[0].suffix = "__alpha__";
    aux[0].dtype = TQ_DTYPE_F32;
    tq_pair_shape(p, rows, &aux[0]);
    return 1;
}

static inline uint8_t rat_code(float w, double alpha) {
    if (w == 0.0f) return 255;
    double e = 1.0 / (1.0 + alpha * fabs((double)w));   /* |e| in (0, 1] */
    double u = nearbyint((e + 1.0) * 127.5);              /* 128..255 */
    if (u < 128.0) u = 128.0;
    if (u > 255.0) u = 255.0;
    return (uint8_t)(signbit(w) ? 255.0 - u : u);
}

/* |w| corresponding to |e| in [0, 1] (e = 0 -> +inf). */
static inline double rat_inv(double e, double alpha) {
    return e <= 0.0 ? INFINITY : (1.0 / e - 1.0) / alpha;
}

/* lut[u] = decoded value of code u for (alpha, wmax). */
static void rat_lut(double alpha, double wmax, float lut[256]) {
    for (int u = 0; u < 256; u++) {
        if (u == 0 || u == 255) { lut[u] = u == 0 ? -0.0f : 0.0f; continue; }
        double ea = fabs((u - 0.5) / 127.5 - 1.0), eb = fabs((u + 0.5) / 127.5 - 1.0);
        double emin = ea < eb ? ea : eb, emax = ea < eb ? eb : ea;
        if (emax > 1.0) emax = 1.0;
        double lo = rat_inv(emax, alpha), hi = rat_inv(emin, alpha);
        if (hi > wmax) hi = wmax;
        if (lo > hi) lo = hi;
        double m = 0.5 * (lo + hi);
        float f = m > FLT_MAX ? FLT_MAX : (float)m;
        lut[u] = u < 128 ? -f : f;
    }
}

/* sum of squared errors of a strided sample of the block with alpha */
static double rat_sse(const float *w, int64_t n, int64_t stride, double alpha, double wmax) {
    float lut[256];
    rat_lut(alpha, wmax, lut);
    double s = 0.0;
    for (int64_t i = 0; i < n; i += stride) {
        double d = (double)w[i] - (double)lut[rat_code(w[i], alpha)];
        s += d * d;
    }
    return s;
}

static void rat_encode_block(const tq_qparams *p, const float *w, int64_t n, uint8_t *u, float side[2]) {
    float wmax = 0.0f;
    for (int64_t i = 0; i < n; i++) { float a = fabsf(w[i]); if (a > wmax) wmax = a; }
    double alpha = p->alpha;
    if (alpha <= 0.0) {
        alpha = 1.0;
        if (wmax > 0.0f) {
            int64_t stride = n > 65536 ? (n + 65535) / 65536 : 1;
            double best = INFINITY;
            for (int k = -4; k <= 24; k++) {
                double a = exp2(k / 2.0) / (double)wmax;
                if (!isfinite((float)a)) continue;   /* subnormal wmax: alpha beyond float */
                double s = rat_sse(w, n, stride, (double)(float)a, wmax);
                if (s < best) { best = s; alpha = (double)(float)a; }
            }
        }
        if (!(alpha > 0.0) || !isfinite((float)alpha)) alpha = 1.0;
    }
    side[0] = (float)alpha;
    side[1] = wmax;
    alpha = side[0];
    for (int64_t i = 0; i < n; i++) u[i] = rat_code(w[i], alpha);
}

static tq_status rat_quantize(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                              void *const aux[TQ_MAX_AUX], tq_error *err) {
    (void)err;
    float *side = aux[0];
    uint8_t *u = codes;
    if (p->gran == TQ_GRAN_TENSOR) rat_encode_block(p, w, rows * cols, u, side);
    else
        for (int64_t r = 0; r < rows; r++) rat_encode_block(p, w + r * cols, cols, u + r * cols, side + 2 * r);
    return TQ_OK;
}

static tq_status rat_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    const float *side = aux[0];
    const uint8_t *u = codes;
    float lut[256];
    for (int64_t r = 0; r < rows; r++) {
        if (r == 0 || p->gran == TQ_GRAN_CHANNEL) {
            const float *s = side + (p->gran == TQ_GRAN_CHANNEL ? 2 * r : 0);
            if (!(s[0] > 0.0f) || !isfinite(s[0]) || !(s[1] >= 0.0f) || !isfinite(s[1]))
                return tq_err(err, TQ_E_FORMAT,
                              "QINS rational: block %lld has alpha %g and max|w| %g (need finite alpha > 0, max|w| >= 0)",
                              (long long)r, (double)s[0], (double)s[1]);
            rat_lut(s[0], s[1], lut);
        }
        const uint8_t *ur = u + r * cols;
        float *o = out + r * cols;
        for (int64_t c = 0; c < cols; c++) o[c] = lut[ur[c]];
    }
    return TQ_OK;
}

/* ---- representable range, self-test expectations ------------------------- */

/* [-d, d]: d is the decoded magnitude of codes 127/128 (the midpoint of the top
 * interval), decoded through rat_dequantize so bad side values are refused */
static tq_status rat_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi,
                           tq_error *err) {
    uint8_t codes[2] = {128, 127};
    float side[2] = {tq_ld_f32(aux[0], 2 * b), tq_ld_f32(aux[0], 2 * b + 1)}, out[2];
    tq_qparams q1 = *p;
    q1.gran = TQ_GRAN_TENSOR;
    const void *sub[TQ_MAX_AUX] = {side, NULL, NULL};
    tq_status st = rat_dequantize(&q1, 1, 2, codes, sub, out, err);
    if (st) return st;
    *hi = out[0];
    *lo = out[1];
    return TQ_OK;
}

/* stored max|w| is the block's, alpha the one asked for (when given), alpha > 0 */
static bool rat_block(const tq_qparams *p, const tq_selftest_block *b, const void *const aux[TQ_MAX_AUX], int64_t idx,
                      double *got, double *want, bool *usable) {
    float alpha = tq_ld_f32(aux[0], 2 * idx), wmax = tq_ld_f32(aux[0], 2 * idx + 1);
    *want = b->amax;
    *got = wmax;
    *usable = alpha > 0 && isfinite(alpha);
    return wmax == b->amax && (p->alpha <= 0 || alpha == p->alpha);
}

/* the code is the seeds' formula's (the sign never flips); the error is at most
 * half the width in w of the code's interval, clipped to [0, max|w|] */
static bool rat_weight(const tq_qparams *p, const uint8_t *codes, int64_t row_bytes, const void *const aux[TQ_MAX_AUX],
                       int64_t r, int64_t c, int64_t cols, int64_t idx, float x, int *code, double *err, double *bound) {
    (void)p; (void)row_bytes; (void)err;
    int u = codes[r * cols + c];
    double al = tq_ld_f32(aux[0], 2 * idx), wmax = tq_ld_f32(aux[0], 2 * idx + 1);
    double ee = x == 0 ? 1.0 : 1.0 / (1.0 + al * fabs((double)x));
    double ui = nearbyint((ee + 1.0) * 127.5);
    if (x < 0) ui = 255 - ui;
    double ea = fabs((u - 0.5) / 127.5 - 1.0), eb = fabs((u + 0.5) / 127.5 - 1.0);
    double emin = fmin(ea, eb), emax = fmin(fmax(ea, eb), 1.0);
    if (u == 127 || u == 128) emin = 0.0;
    double wlo = (1.0 / emax - 1.0) / al, whi = emin > 0 ? (1.0 / emin - 1.0) / al : INFINITY;
    if (whi > wmax) whi = wmax;
    double b = (u == 0 || u == 255) ? whi : (whi - wlo) / 2.0;   /* codes 0, 255 decode to 0 */
    *code = u;
    *bound = b * (1 + 1e-6) + 1e-30;
    return ui == (double)u;
}

/* tensor and channel, each with alpha 1 (the seeds' default) and calibrated */
static const tq_selftest_case RAT_CASES[] = {
    {{TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_TENSOR, 0, 0, 1.0f, 0, 0}, "/alpha=1"},
    {{TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_TENSOR, 0, 0, 0.0f, 0, 0}, "/alpha=cal"},
    {{TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_CHANNEL, 0, 0, 1.0f, 0, 0}, "/alpha=1"},
    {{TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_CHANNEL, 0, 0, 0.0f, 0, 0}, "/alpha=cal"},
};
static const tq_codec_selftest RAT_SELFTEST = {RAT_CASES, 4, TQ_DTYPE_U8, TQ_DTYPE_U8, 8, 0, rat_block, rat_weight, 0, NULL, NULL, 0, 0};
static const char *const RAT_ALIASES[] = {"rational", "qins-rat", NULL};

const tq_codec_impl tq_codec_qins_rational = {
    {TQ_CODEC_QINS_RATIONAL, "qins-rational",
     "QINS rational: e = sign(w)/(1+alpha|w|), u = round((e+1)*127.5); alpha given or calibrated", 1u << 8,
     (1u << TQ_GRAN_TENSOR) | (1u << TQ_GRAN_CHANNEL), "codes U8 [rows, cols]; F32 __alpha__ {alpha, max|w|} per block",
     8, TQ_GRAN_CHANNEL, 0, 1, 0},
    RAT_ALIASES, rat_layout, rat_quantize, rat_dequantize, tq_codec_rows_sliced, rat_range, &RAT_SELFTEST,
    1u << TQ_GRAN_CHANNEL, NULL, NULL, NULL};
