/*
 * gptq.c — GPTQ's stored layout (AutoGPTQ / GPTQModel checkpoints), decode
 * only: trueq reads these tensors (io/qlayout.c groups them) but does not
 * write them, so the rows have no quantize trait (info.decode_only).
 *
 * Logical tensor: the nn.Linear weight W [out, in] (rows = out, cols = in).
 * qparams: bits 2, 3, 4 or 8; granularity group, group G = the checkpoint's
 * group_size (G = in for group_size -1), pad set when in % G != 0.
 *
 * Storage (docs/formats/quantized-layouts.md):
 *   codes  "qweight" I32 [in * bits / 32, out]: column j of W^T is a bit
 *          stream, LSB first, over the words qweight[0][j], qweight[1][j], ...;
 *          the code of W[j][i] is bits [i*bits, (i+1)*bits) of that stream
 *          (for 3 bits a code may straddle two words: 32 codes per 3 words).
 *   aux[0] "qzeros"  I32 [ngroups, out * bits / 32]: row g is a bit stream
 *          the same way; zero point of output j is its element j.
 *   aux[1] "scales"  F16 [ngroups, out].
 *   aux[2] "g_idx"   I32 [in]: the group of each input (act-order / desc_act
 *          permutes it; without act-order g_idx[i] = i / G).
 *   ngroups = ceil(in / G).
 * Decode: W[j][i] = scales[g][j] * (q - z), g = g_idx[i], with
 *   gptq    (checkpoint_format "gptq", the original packer): z = qzeros + 1
 *           (the packer stored zero - 1; the +1 is not masked, so a stored
 *           2^bits - 1 means 2^bits)
 *   gptq-v2 (checkpoint_format "gptq_v2"): z = qzeros as stored.
 * Computed as float32: (float)(q - z) * scale.
 */
#include "codec/codec.h"
#include <math.h>

static int gptq_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                       tq_aux_desc aux[TQ_MAX_AUX]) {
    int b = p->bits;
    if ((b != 2 && b != 3 && b != 4 && b != 8) || p->gran != TQ_GRAN_GROUP || p->group < 1) return -1;
    if (cols > INT64_MAX / 8 || rows > INT64_MAX / 8 || (cols * b) % 32 || (rows * b) % 32) return -1;
    int64_t ng = (cols + p->group - 1) / p->group;
    *cd = TQ_DTYPE_I32;
    cs[0] = cols * b / 32;
    cs[1] = rows;
    aux[0] = (tq_aux_desc){"qzeros", TQ_DTYPE_I32, 2, {ng, rows * b / 32}, 0};
    aux[1] = (tq_aux_desc){"scales", TQ_DTYPE_F16, 2, {ng, rows}, 0};
    aux[2] = (tq_aux_desc){"g_idx", TQ_DTYPE_I32, 1, {cols, 0}, 0};
    return 3;
}

/* element k of a bit stream of `bits`-bit values over 32-bit words
 * w[0], w[stride], w[2*stride], ... (LSB first) */
static inline uint32_t stream_at(const uint8_t *w, int64_t stride, int64_t k, int bits) {
    int64_t bit = k * bits, word = bit / 32;
    int sh = (int)(bit % 32);
    uint64_t v = tq_ld32(w + 4 * word * stride);
    if (sh + bits > 32) v |= (uint64_t)tq_ld32(w + 4 * (word + 1) * stride) << 32;
    return (uint32_t)(v >> sh) & ((1u << bits) - 1);
}

static tq_status gptq_rows_off(const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, int64_t r1,
                               const void *codes, const void *const aux[TQ_MAX_AUX], float *out, int zoff,
                               tq_error *err) {
    const uint8_t *qw = codes, *qz = aux[0], *sc = aux[1], *gi = aux[2];
    int b = p->bits;
    int64_t ng = (cols + p->group - 1) / p->group, zrow = rows * b / 32 * 4;
    for (int64_t i = 0; i < cols; i++) {
        int32_t g = (int32_t)tq_ld32(gi + 4 * i);
        if (g < 0 || g >= ng)
            return tq_err(err, TQ_E_FORMAT, "g_idx[%lld] = %d is outside the %lld groups", (long long)i, (int)g,
                          (long long)ng);
        for (int64_t j = r0; j < r1; j++) {
            int64_t q = stream_at(qw + 4 * j, rows, i, b);
            int64_t z = (int64_t)stream_at(qz + g * zrow, 1, j, b) + zoff;
            float s = tq_f16_to_f32(tq_ld16(sc + 2 * (g * rows + j)));
            float v = (float)(q - z) * s;
            if (!isfinite(v))
                return tq_err(err, TQ_E_FORMAT, "scales[%d][%lld] is not finite", (int)g, (long long)j);
            out[(j - r0) * cols + i] = v;
        }
    }
    return TQ_OK;
}

/* The range of a block needs its row and group, which block_range's block
 * index alone does not give without the tensor's shape: the rows report no
 * bound (verify then checks values against the original only). */
static tq_status range_none(double *lo, double *hi) {
    *lo = -INFINITY;
    *hi = INFINITY;
    return TQ_OK;
}

#define GPTQ_ROWS(fn, off)                                                                                        \
    static tq_status fn##_rows(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, \
                               int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,        \
                               tq_error *err) {                                                                   \
        (void)c;                                                                                                  \
        return gptq_rows_off(p, rows, cols, r0, r1, codes, aux, out, off, err);                                   \
    }                                                                                                             \
    static tq_status fn##_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,          \
                                     const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {              \
        return gptq_rows_off(p, rows, cols, 0, rows, codes, aux, out, off, err);                                  \
    }                                                                                                             \
    static tq_status fn##_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo,    \
                                double *hi, tq_error *err) {                                                      \
        (void)p; (void)aux; (void)b; (void)err;                                                                   \
        return range_none(lo, hi);                                                                                \
    }
GPTQ_ROWS(gptq, 1)
GPTQ_ROWS(gptq_v2, 0)

#define GPTQ_INFO(ID, NAME, SUMMARY)                                                                              \
    {ID, NAME, SUMMARY, (1u << 2) | (1u << 3) | (1u << 4) | (1u << 8), 1u << TQ_GRAN_GROUP,                      \
     "codes I32 qweight [cols*bits/32, rows] (a bit stream down each column); qzeros I32 [groups, rows*bits/32], " \
     "scales F16 [groups, rows], g_idx I32 [cols]; decode only",                                                  \
     4, TQ_GRAN_GROUP, 128, 0, 0, 1}

const tq_codec_impl tq_codec_gptq = {
    .info = GPTQ_INFO(TQ_CODEC_GPTQ, "gptq", "GPTQ checkpoints (zero points stored minus one), read only"),
    .layout = gptq_layout,
    .dequantize = gptq_dequantize,
    .dequantize_rows = gptq_rows,
    .block_range = gptq_range,
};

const tq_codec_impl tq_codec_gptq_v2 = {
    .info = GPTQ_INFO(TQ_CODEC_GPTQ_V2, "gptq-v2", "GPTQ v2 checkpoints (zero points as stored), read only"),
    .layout = gptq_layout,
    .dequantize = gptq_v2_dequantize,
    .dequantize_rows = gptq_v2_rows,
    .block_range = gptq_v2_range,
};
