/*
 * qins_log.c — the seeds' "QINS" log-domain codec, in two storage layouts.
 *
 * Per block (the whole tensor, or one row with channel granularity), over the
 * NON-ZERO weights only:
 *     lmin = min ln|w|,  lmax = max ln|w|          (computed in double, stored F32)
 *     t    = (ln|w| - lmin) / (lmax - lmin)        (lmin, lmax as stored)
 *     code = clamp(round_half_even(L - (L-1) * t), 1, L)
 * so code 1 is the largest magnitude and code L the smallest; code 0 is
 * reserved for exact zeros. When lmax == lmin (constant magnitudes) every
 * non-zero weight gets code L. Decoding:
 *     |w'| = exp(lmin + (L - code) * (lmax - lmin) / (L - 1))  (double, then F32,
 *            capped at FLT_MAX), sign restored, code 0 -> 0.
 * The step in ln|w| is (lmax - lmin)/(L-1), so the relative error of a decoded
 * magnitude is at most exp(step/2) - 1 (plus float rounding).
 *
 *   qins-log-2b (TQ_CODEC_QINS_LOG_2B) — the seeds' layout, L = 255:
 *     codes   U8 [rows, cols]       the magnitude code 0..255
 *     side 0  I8 "__sign__" [rows, cols]  -1, 0 (zero) or +1
 *     side 1  F32 "__scale__" [2] = {lmin, lmax} (tensor) or [rows, 2] (channel)
 *     2 bytes per weight plus 8 bytes per block.
 *
 *   qins-log (TQ_CODEC_QINS_LOG) — packed 1 byte per weight, L = 127:
 *     codes   U8 [rows, cols], byte = sign << 7 | code, code 0..127 in bits 6..0,
 *             sign bit 1 = negative (a stored 0x80 decodes to -0.0)
 *     side 0  F32 "__scale__" as above.
 *     7 bits cannot hold the seeds' codes 1..255, so this variant uses the same
 *     formula with 127 levels (L = 127): the log-domain step is twice as coarse
 *     ((lmax-lmin)/126 instead of /254). It is honest 1-byte storage, not the
 *     seeds' 2-byte layout renamed.
 *
 * Decoding validates the side tensor (finite, lmin <= lmax) and returns
 * TQ_E_FORMAT otherwise, so corrupt files never produce NaN/Inf.
 */
#include "codec/codec.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int log_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                      tq_aux_desc aux[TQ_MAX_AUX], bool two_byte) {
    if (p->bits != 8) return -1;
    if (p->gran != TQ_GRAN_TENSOR && p->gran != TQ_GRAN_CHANNEL) return -1;
    *cd = TQ_DTYPE_U8;
    cs[0] = rows;
    cs[1] = cols;
    int k = 0;
    if (two_byte) {
        aux[k].suffix = "__sign__";
        aux[k].dtype = TQ_DTYPE_I8;
        aux[k].ndim = 2;
        aux[k].shape[0] = rows;
        aux[k].shape[1] = cols;
        aux[k].per_row = 1;
        k++;
    }
    aux[k].suffix = "__scale__";
    aux[k].dtype = TQ_DTYPE_F32;
    tq_pair_shape(p, rows, &aux[k]);
    return k + 1;
}

/* Encode one block of n weights (contiguous) with L levels. mag[i] gets the
 * code 0..L, neg[i] 1 for a negative weight. range[0..1] gets {lmin, lmax}. */
static void encode_block(const float *w, int64_t n, int L, uint8_t *mag, int8_t *sgn, float range[2]) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(w[i]);
        if (a == 0.0f) continue;
        double l = log((double)a);
        if (l < lo) lo = l;
        if (l > hi) hi = l;
    }
    if (lo > hi) { lo = hi = 0.0; }   /* no non-zero weight */
    range[0] = (float)lo;
    range[1] = (float)hi;
    const double flo = range[0], span = (double)range[1] - (double)range[0];
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(w[i]);
        if (a == 0.0f) { mag[i] = 0; sgn[i] = 0; continue; }
        double code = L;
        if (span > 0.0) {
            double t = (log((double)a) - flo) / span;
            code = nearbyint((double)L - (double)(L - 1) * t);
            if (code < 1.0) code = 1.0;
            if (code > (double)L) code = (double)L;
        }
        mag[i] = (uint8_t)code;
        sgn[i] = (int8_t)(signbit(w[i]) ? -1 : 1);
    }
}

/* Decoded magnitude of each code 0..L of one block: lut[0] = 0. */
static tq_status block_lut(const float range[2], int L, int64_t row, float *lut, tq_error *err) {
    if (!isfinite(range[0]) || !isfinite(range[1]) || range[0] > range[1])
        return tq_err(err, TQ_E_FORMAT, "QINS log: block %lld has an invalid log range [%g, %g] (need finite lmin <= lmax)",
                      (long long)row, (double)range[0], (double)range[1]);
    const double lo = range[0], span = (double)range[1] - lo;
    lut[0] = 0.0f;
    for (int c = 1; c <= L; c++) {
        double v = exp(lo + (double)(L - c) * span / (double)(L - 1));
        lut[c] = v > FLT_MAX ? FLT_MAX : (float)v;
    }
    return TQ_OK;
}

static tq_status log_quantize(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                              void *const aux[TQ_MAX_AUX], tq_error *err, bool two_byte) {
    const int L = two_byte ? 255 : 127;
    float *range = two_byte ? aux[1] : aux[0];
    int8_t *sgn = two_byte ? aux[0] : malloc((size_t)(rows * cols) + 1);
    if (!sgn) return tq_err(err, TQ_E_NOMEM, "out of memory for %lld signs", (long long)(rows * cols));
    uint8_t *mag = codes;
    if (p->gran == TQ_GRAN_TENSOR) encode_block(w, rows * cols, L, mag, sgn, range);
    else
        for (int64_t r = 0; r < rows; r++) encode_block(w + r * cols, cols, L, mag + r * cols, sgn + r * cols, range + 2 * r);
    if (!two_byte) {
        for (int64_t i = 0; i < rows * cols; i++) mag[i] = (uint8_t)(mag[i] | (sgn[i] < 0 ? 0x80 : 0));
        free(sgn);
    }
    return TQ_OK;
}

static tq_status log_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                const void *const aux[TQ_MAX_AUX], float *out, tq_error *err, bool two_byte) {
    const int L = two_byte ? 255 : 127;
    const float *range = two_byte ? aux[1] : aux[0];
    const int8_t *sgn = two_byte ? aux[0] : NULL;
    const uint8_t *u = codes;
    float lut[256];
    for (int64_t r = 0; r < rows; r++) {
        if (r == 0 || p->gran == TQ_GRAN_CHANNEL) {
            tq_status st = block_lut(range + (p->gran == TQ_GRAN_CHANNEL ? 2 * r : 0), L, r, lut, err);
            if (st) return st;
        }
        const uint8_t *ur = u + r * cols;
        float *o = out + r * cols;
        if (two_byte) {
            const int8_t *sr = sgn + r * cols;
            for (int64_t c = 0; c < cols; c++) {
                float m = sr[c] == 0 ? 0.0f : lut[ur[c]];
                o[c] = sr[c] < 0 ? -m : m;
            }
        } else {
            for (int64_t c = 0; c < cols; c++) {
                float m = lut[ur[c] & 0x7F];
                o[c] = (ur[c] & 0x80) ? -m : m;
            }
        }
    }
    return TQ_OK;
}

/* ---- representable range, self-test expectations ------------------------- */

/* the side tensor of {lmin, lmax} pairs */
static const void *log_pairs(const void *const aux[TQ_MAX_AUX], bool two_byte) { return aux[two_byte ? 1 : 0]; }

/* [-exp(lmax), exp(lmax)]: the decoded magnitude of code 1 */
static tq_status log_range(const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi, bool two_byte) {
    *hi = exp((double)tq_ld_f32(log_pairs(aux, two_byte), 2 * b + 1));
    *lo = -*hi;
    return TQ_OK;
}

/* {lmin, lmax} = ln of the smallest and largest non-zero |w| (0, 0 if none) */
static bool log_block(const tq_selftest_block *b, const void *const aux[TQ_MAX_AUX], int64_t idx, double *got,
                      double *want, bool *usable, bool two_byte) {
    const void *rg = log_pairs(aux, two_byte);
    float lmin = tq_ld_f32(rg, 2 * idx), lmax = tq_ld_f32(rg, 2 * idx + 1);
    *want = b->nzmax > 0 ? log((double)b->nzmin) : 0.0;
    double want_hi = b->nzmax > 0 ? log((double)b->nzmax) : 0.0;
    *got = lmin;
    *usable = lmin <= lmax;
    return lmin == (float)*want && lmax == (float)want_hi;
}

/* zero <-> code 0 (and sign 0), else code in [1, L] with the weight's sign; the
 * magnitude within a factor exp(+-step/2), step = (lmax - lmin)/(L - 1) */
static bool log_weight(const uint8_t *codes, const void *const aux[TQ_MAX_AUX], int64_t r, int64_t c, int64_t cols,
                       int64_t idx, float x, int *code, double *bound, bool two_byte) {
    const int L = two_byte ? 255 : 127;
    uint8_t u = codes[r * cols + c];
    int mag = two_byte ? u : (u & 0x7F);
    int sg = two_byte ? ((const int8_t *)aux[0])[r * cols + c] : ((u & 0x80) ? -1 : 1);
    const void *rg = log_pairs(aux, two_byte);
    double half = ((double)tq_ld_f32(rg, 2 * idx + 1) - (double)tq_ld_f32(rg, 2 * idx)) / (L - 1) / 2.0;
    *code = u;
    *bound = fabs((double)x) * (exp(half) - 1.0) + fabs((double)x) * 1e-6;
    return x == 0 ? mag == 0 && (!two_byte || sg == 0) : mag >= 1 && mag <= L && sg == (x < 0 ? -1 : 1);
}

/* The row functions of one layout (v = _1b or _2b): the shared ones above with
 * two_byte fixed. */
#define LOG_FUNCS(v, two)                                                                                          \
    static int layout##v(const tq_qparams *p, int64_t r, int64_t c, tq_dtype *cd, int64_t cs[2],                   \
                         tq_aux_desc a[TQ_MAX_AUX]) {                                                              \
        return log_layout(p, r, c, cd, cs, a, two);                                                                \
    }                                                                                                              \
    static tq_status quantize##v(const tq_qparams *p, const float *w, int64_t r, int64_t c, void *codes,          \
                                 void *const aux[TQ_MAX_AUX], tq_error *e) {                                       \
        return log_quantize(p, w, r, c, codes, aux, e, two);                                                       \
    }                                                                                                              \
    static tq_status dequantize##v(const tq_qparams *p, int64_t r, int64_t c, const void *codes,                  \
                                   const void *const aux[TQ_MAX_AUX], float *o, tq_error *e) {                     \
        return log_dequantize(p, r, c, codes, aux, o, e, two);                                                     \
    }                                                                                                              \
    static tq_status range##v(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo,      \
                              double *hi, tq_error *e) {                                                           \
        (void)p; (void)e;                                                                                          \
        return log_range(aux, b, lo, hi, two);                                                                     \
    }                                                                                                              \
    static bool block##v(const tq_qparams *p, const tq_selftest_block *b, const void *const aux[TQ_MAX_AUX],      \
                         int64_t idx, double *got, double *want, bool *usable) {                                   \
        (void)p;                                                                                                   \
        return log_block(b, aux, idx, got, want, usable, two);                                                     \
    }                                                                                                              \
    static bool weight##v(const tq_qparams *p, const uint8_t *codes, int64_t rb, const void *const aux[TQ_MAX_AUX], \
                          int64_t r, int64_t c, int64_t cols, int64_t idx, float x, int *code, double *err,         \
                          double *bound) {                                                                         \
        (void)p; (void)rb; (void)err;                                                                              \
        return log_weight(codes, aux, r, c, cols, idx, x, code, bound, two);                                       \
    }
LOG_FUNCS(_1b, false)
LOG_FUNCS(_2b, true)

static const tq_selftest_case cases_1b[] = {{{TQ_CODEC_QINS_LOG, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0}, ""},
                                            {{TQ_CODEC_QINS_LOG, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0}, ""}};
static const tq_selftest_case cases_2b[] = {{{TQ_CODEC_QINS_LOG_2B, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0}, ""},
                                            {{TQ_CODEC_QINS_LOG_2B, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0}, ""}};
static const tq_codec_selftest selftest_1b = {cases_1b, 2, TQ_DTYPE_U8, TQ_DTYPE_U8, 8, 0, block_1b, weight_1b, 0, NULL, NULL, 0, 0};
static const tq_codec_selftest selftest_2b = {cases_2b, 2, TQ_DTYPE_U8, TQ_DTYPE_U8, 8, 1, block_2b, weight_2b, 0, NULL, NULL, 0, 0};
static const char *const aliases_1b[] = {"qins", "log", NULL};
static const char *const aliases_2b[] = {"qins-log-seeds", NULL};

#define LOG_GRANS ((1u << TQ_GRAN_TENSOR) | (1u << TQ_GRAN_CHANNEL))

/* the two layouts differ in their text and in the _1b / _2b functions */
#define LOG_ROW(id, name, summary, layout_text, v)                                                      \
    {{id, name, summary, 1u << 8, LOG_GRANS, layout_text, 8, TQ_GRAN_CHANNEL, 0, 0, 0}, aliases##v,       \
     layout##v, quantize##v, dequantize##v, tq_codec_rows_sliced, range##v, &selftest##v, 1u << TQ_GRAN_CHANNEL, \
     NULL, NULL, NULL}

const tq_codec_impl tq_codec_qins_log = LOG_ROW(
    TQ_CODEC_QINS_LOG, "qins-log",
    "QINS log-domain: 7-bit code = round(127 - 126*(ln|w|-lmin)/(lmax-lmin)) + sign bit, 0 = zero",
    "codes U8 [rows, cols] = sign<<7 | code (1 byte/weight); F32 __scale__ {lmin, lmax} per block", _1b);

const tq_codec_impl tq_codec_qins_log_2b = LOG_ROW(
    TQ_CODEC_QINS_LOG_2B, "qins-log-2b",
    "seeds' QINS log: u8 code = round(255 - 254*(ln|w|-lmin)/(lmax-lmin)) + i8 sign (2 bytes/weight)",
    "codes U8 [rows, cols]; I8 __sign__ [rows, cols]; F32 __scale__ {lmin, lmax} per block", _2b);
