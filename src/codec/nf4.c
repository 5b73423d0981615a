/*
 * nf4.c — 4-bit NormalFloat (the bitsandbytes / QLoRA code book), absmax per
 * block. Natural setting: TQ_GRAN_GROUP with group 64 (bitsandbytes' default
 * block size); channel and tensor granularity are also accepted.
 *
 * Code book (index = code; the exact float32 values of FORMATS.md §7.2):
 *   -1, -0.6961928, -0.5250731, -0.3949175, -0.2844414, -0.1847734,
 *   -0.0910500, 0, 0.0795803, 0.1609302, 0.2461123, 0.3379152, 0.4407098,
 *   0.5626170, 0.7229568, 1
 *
 * Per block: absmax = max|w| (F32, stored in "__scale__");
 *   x    = clamp(w * (1/absmax), -1, 1)    (float32, multiply by the reciprocal
 *                                           as bitsandbytes' kernel does; when
 *                                           absmax < 2^-128 the reciprocal
 *                                           overflows and w / absmax is used)
 *   code = number of thresholds m_i (i = 0..14) with x > m_i, where m_i is
 *          the midpoint of code book entries i and i+1 (computed in double,
 *          rounded to float32). A value exactly on a midpoint takes the lower
 *          code (bitsandbytes' strict '>').
 *   an all-zero block: absmax = 0, every code 7 (the code of 0.0).
 * Dequantize: w' = codebook[code] * absmax (float32).
 *
 * Storage: codes U8 [rows, ceil(cols/2)], two codes per byte, LSB-first like
 * the linear codecs: element 2k in bits 3..0, element 2k+1 in bits 7..4; rows
 * start on a byte boundary and the unused high nibble of an odd row's last
 * byte is 0. NOTE: bitsandbytes packs the flattened tensor high-nibble-first
 * (byte = code[2i] << 4 | code[2i+1]) and pads with code 7; converting to its
 * layout swaps the nibbles. Side: F32 "__scale__" of the block shape
 * ([], [rows] or [rows, groups]).
 */
#include "codec/codec.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The code book (FORMATS.md §7.2), index = 4-bit code. */
static const float tq_nf4_codebook[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
};

static void nf4_thresholds(float m[15]) {
    for (int i = 0; i < 15; i++) m[i] = (float)(((double)tq_nf4_codebook[i] + (double)tq_nf4_codebook[i + 1]) / 2.0);
}

static int nf4_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                      tq_aux_desc aux[TQ_MAX_AUX]) {
    if (p->bits != 4) return -1;
    *cd = TQ_DTYPE_U8;
    cs[0] = rows;
    cs[1] = tq_packed_row_bytes(cols, 4);
    aux[0].suffix = "__scale__";
    aux[0].dtype = TQ_DTYPE_F32;
    tq_block_shape(p, rows, cols, &aux[0].ndim, aux[0].shape, &aux[0].per_row);
    return 1;
}

static tq_status nf4_quantize(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                              void *const aux[TQ_MAX_AUX], tq_error *err) {
    float *scale = aux[0];
    float m[15];
    nf4_thresholds(m);
    uint8_t *u = malloc((size_t)cols + 1);
    if (!u) return tq_err(err, TQ_E_NOMEM, "out of memory");
    if (p->gran == TQ_GRAN_TENSOR) {
        float amax = 0.0f;
        for (int64_t i = 0; i < rows * cols; i++) { float a = fabsf(w[i]); if (a > amax) amax = a; }
        scale[0] = amax;
    }
    int64_t glen, ng = tq_groups_per_row(p, cols, &glen);
    const int64_t rb = tq_packed_row_bytes(cols, 4);
    for (int64_t r = 0; r < rows; r++) {
        const float *wr = w + r * cols;
        for (int64_t g = 0; g < ng; g++) {
            int64_t c0 = p->gran == TQ_GRAN_GROUP ? g * glen : 0;
            int64_t c1 = p->gran == TQ_GRAN_GROUP ? (c0 + glen < cols ? c0 + glen : cols) : cols;
            float amax;
            if (p->gran == TQ_GRAN_TENSOR) amax = scale[0];
            else {
                amax = 0.0f;
                for (int64_t c = c0; c < c1; c++) { float a = fabsf(wr[c]); if (a > amax) amax = a; }
                scale[p->gran == TQ_GRAN_CHANNEL ? r : r * ng + g] = amax;
            }
            if (amax == 0.0f) { memset(u + c0, 7, (size_t)(c1 - c0)); continue; }
            const float inv = 1.0f / amax;
            const bool tiny = !(inv <= FLT_MAX);   /* absmax < 2^-128: 1/absmax overflows */
            for (int64_t c = c0; c < c1; c++) {
                float x = tiny ? wr[c] / amax : wr[c] * inv;
                x = x < -1.0f ? -1.0f : x > 1.0f ? 1.0f : x;
                int q = 0;
                for (int i = 0; i < 15; i++) q += x > m[i];
                u[c] = (uint8_t)q;
            }
        }
        tq_pack_row(u, cols, 4, (uint8_t *)codes + r * rb);
    }
    free(u);
    return TQ_OK;
}

static tq_status nf4_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    const float *scale = aux[0];
    uint8_t *u = malloc((size_t)cols + 1);
    if (!u) return tq_err(err, TQ_E_NOMEM, "out of memory");
    int64_t glen, ng = tq_groups_per_row(p, cols, &glen);
    const int64_t rb = tq_packed_row_bytes(cols, 4);
    for (int64_t r = 0; r < rows; r++) {
        tq_unpack_row((const uint8_t *)codes + r * rb, cols, 4, u);
        for (int64_t c = 0; c < cols; c++) {
            float s = p->gran == TQ_GRAN_TENSOR ? scale[0] : p->gran == TQ_GRAN_CHANNEL ? scale[r] : scale[r * ng + c / glen];
            out[r * cols + c] = tq_nf4_codebook[u[c]] * s;
        }
    }
    free(u);
    return TQ_OK;
}

/* ---- representable range, self-test expectations ------------------------- */

/* [-absmax, absmax] (the code book spans [-1, 1]) */
static tq_status nf4_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi,
                           tq_error *err) {
    (void)p; (void)err;
    *hi = tq_ld_f32(aux[0], b);
    *lo = -*hi;
    return TQ_OK;
}

static bool nf4_block(const tq_qparams *p, const tq_selftest_block *b, const void *const aux[TQ_MAX_AUX], int64_t idx,
                      double *got, double *want, bool *usable) {
    (void)p;
    float s = tq_ld_f32(aux[0], idx);
    *want = b->amax;
    *got = s;
    *usable = b->amax == 0 || s > 0;
    return s == b->amax;
}

/* a 4-bit code (the unused high nibble of an odd row's last byte is 0); the
 * code is the nearest code-book entry to w / absmax: the error, measured in
 * the code book, is the smallest distance to an entry */
static bool nf4_weight(const tq_qparams *p, const uint8_t *codes, int64_t row_bytes, const void *const aux[TQ_MAX_AUX],
                       int64_t r, int64_t c, int64_t cols, int64_t idx, float x, int *code, double *err, double *bound) {
    (void)p;
    const uint8_t *row = codes + r * row_bytes;
    int u = tq_packed_code(row, c, 4);
    float s = tq_ld_f32(aux[0], idx);
    *code = u;
    *bound = 0;
    if (s > 0) {
        double xs = fmax(-1.0, fmin(1.0, (double)(x * (1.0f / s))));
        double dbest = INFINITY;
        for (int j = 0; j < 16; j++) dbest = fmin(dbest, fabs(xs - tq_nf4_codebook[j]));
        *bound = (dbest + 1e-6) * s;
        *err = fabs(xs - tq_nf4_codebook[u]) * s;
    }
    return u < 16 && (c != cols - 1 || cols % 2 == 0 || (row[row_bytes - 1] >> 4) == 0);
}

/* tensor, channel, and groups of 16 and of 64 (bitsandbytes' block) */
static const tq_selftest_case NF4_CASES[] = {
    {{TQ_CODEC_NF4, 4, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0}, ""}, {{TQ_CODEC_NF4, 4, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0}, ""},
    {{TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 16, 0, 0, 0, 0}, ""}, {{TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 64, 0, 0, 0, 0}, ""}};
static const tq_codec_selftest NF4_SELFTEST = {NF4_CASES, 4, TQ_DTYPE_U8, TQ_DTYPE_U8, 4, 0, nf4_block, nf4_weight, 0, NULL, NULL, 0, 0};

const tq_codec_impl tq_codec_nf4 = {
    {TQ_CODEC_NF4, "nf4",
     "bitsandbytes NormalFloat-4: nearest of 16 normal-quantile levels x absmax per block (use group 64)", 1u << 4,
     (1u << TQ_GRAN_TENSOR) | (1u << TQ_GRAN_CHANNEL) | (1u << TQ_GRAN_GROUP),
     "codes U8 [rows, ceil(cols/2)], 2 per byte LSB-first (element 2k low nibble); F32 __scale__ absmax per block",
     4, TQ_GRAN_GROUP, 64, 0, 0},
    NULL, nf4_layout, nf4_quantize, nf4_dequantize, tq_codec_rows_sliced, nf4_range, &NF4_SELFTEST,
    (1u << TQ_GRAN_CHANNEL) | (1u << TQ_GRAN_GROUP), NULL, NULL, NULL};
