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
        k++;
    }
    aux[k].suffix = "__scale__";
    aux[k].dtype = TQ_DTYPE_F32;
    if (p->gran == TQ_GRAN_TENSOR) { aux[k].ndim = 1; aux[k].shape[0] = 2; aux[k].shape[1] = 0; }
    else { aux[k].ndim = 2; aux[k].shape[0] = rows; aux[k].shape[1] = 2; }
    return k + 1;
}

static int log2b_layout(const tq_qparams *p, int64_t r, int64_t c, tq_dtype *cd, int64_t cs[2], tq_aux_desc a[TQ_MAX_AUX]) {
    return log_layout(p, r, c, cd, cs, a, true);
}
static int log1b_layout(const tq_qparams *p, int64_t r, int64_t c, tq_dtype *cd, int64_t cs[2], tq_aux_desc a[TQ_MAX_AUX]) {
    return log_layout(p, r, c, cd, cs, a, false);
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

static tq_status q2b(const tq_qparams *p, const float *w, int64_t r, int64_t c, void *codes, void *const aux[TQ_MAX_AUX], tq_error *e) {
    return log_quantize(p, w, r, c, codes, aux, e, true);
}
static tq_status q1b(const tq_qparams *p, const float *w, int64_t r, int64_t c, void *codes, void *const aux[TQ_MAX_AUX], tq_error *e) {
    return log_quantize(p, w, r, c, codes, aux, e, false);
}
static tq_status d2b(const tq_qparams *p, int64_t r, int64_t c, const void *codes, const void *const aux[TQ_MAX_AUX], float *o, tq_error *e) {
    return log_dequantize(p, r, c, codes, aux, o, e, true);
}
static tq_status d1b(const tq_qparams *p, int64_t r, int64_t c, const void *codes, const void *const aux[TQ_MAX_AUX], float *o, tq_error *e) {
    return log_dequantize(p, r, c, codes, aux, o, e, false);
}

#define LOG_GRANS ((1u << TQ_GRAN_TENSOR) | (1u << TQ_GRAN_CHANNEL))

const tq_codec_impl tq_codec_qins_log = {
    .info = {TQ_CODEC_QINS_LOG, "qins-log",
             "QINS log-domain: 7-bit code = round(127 - 126*(ln|w|-lmin)/(lmax-lmin)) + sign bit, 0 = zero",
             1u << 8, LOG_GRANS,
             "codes U8 [rows, cols] = sign<<7 | code (1 byte/weight); F32 __scale__ {lmin, lmax} per block"},
    .layout = log1b_layout, .quantize = q1b, .dequantize = d1b,
    .row_local_gran_mask = 1u << TQ_GRAN_CHANNEL,
};

const tq_codec_impl tq_codec_qins_log_2b = {
    .info = {TQ_CODEC_QINS_LOG_2B, "qins-log-2b",
             "seeds' QINS log: u8 code = round(255 - 254*(ln|w|-lmin)/(lmax-lmin)) + i8 sign (2 bytes/weight)",
             1u << 8, LOG_GRANS,
             "codes U8 [rows, cols]; I8 __sign__ [rows, cols]; F32 __scale__ {lmin, lmax} per block"},
    .layout = log2b_layout, .quantize = q2b, .dequantize = d2b,
    .row_local_gran_mask = 1u << TQ_GRAN_CHANNEL,
};
