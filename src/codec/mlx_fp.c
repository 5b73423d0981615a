/*
 * mlx_fp.c — MLX's microscaling float modes (mx.quantize(..., mode="mxfp4")
 * and mode="mxfp8"), decode only: io/qlayout_mlx.c groups the entries of
 * files MLX and mlx_lm write; trueq does not write these modes
 * (docs/formats/mlx.md "mxfp4").
 *
 * Logical tensor: W [rows, cols]; bits 4 (mlx-mxfp4) or 8 (mlx-mxfp8);
 * granularity group, group 32 (the only one these modes have).
 *   codes  U32 [rows, cols * bits / 32]: each row a little-endian bit
 *          stream, element i in bits [i*bits, (i+1)*bits) (8 nibbles or 4
 *          bytes per word, low first: MLX's affine packing at 4 and 8 bits).
 *          mxfp4 elements are E2M1 (sign bit 3, values 0, 0.5, 1, 1.5, 2, 3,
 *          4, 6), mxfp8 elements E4M3 ("fn": bias 7, S.1111.111 is NaN).
 *   aux[0] "scales" U8 [rows, cols / 32]: E8M0 exponents e, the group's
 *          scale 2^(e - 127).
 * Decode: W = element * 2^(e - 127) in float32, what mx.dequantize computes
 * (mlx 0.32.4: every product is exact, subnormal results included, since
 * the smallest is 2^-136). Where MLX's decode is not finite (e = 255, a NaN
 * exponent, which mlx decodes as inf/nan; a product beyond float32, e.g.
 * 6 * 2^127; an E4M3 NaN code) trueq refuses the tensor (TQ_E_FORMAT naming
 * the row and group) rather than produce a non-finite weight.
 */
#include "codec/codec.h"
#include <math.h>

static const float E2M1[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};

static int fp_layout(int bits, const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                     tq_aux_desc aux[TQ_MAX_AUX]) {
    if (p->bits != bits || p->gran != TQ_GRAN_GROUP || p->group != 32 || rows < 1 || cols < 1 || cols % 32 ||
        cols > INT64_MAX / 8)
        return -1;
    *cd = TQ_DTYPE_U32;
    cs[0] = rows;
    cs[1] = cols * bits / 32;
    aux[0] = (tq_aux_desc){"scales", TQ_DTYPE_U8, 2, {rows, cols / 32}, 1};
    return 1;
}

static tq_status fp_rows(int bits, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, int64_t r1,
                         const void *codes, const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    (void)p; (void)rows;
    const uint8_t *c = codes, *sc = aux[0];
    const int64_t wrow = cols * bits / 32 * 4, ng = cols / 32;
    for (int64_t j = r0; j < r1; j++) {
        const uint8_t *row = c + j * wrow;
        float *o = out + (j - r0) * cols;
        for (int64_t g = 0; g < ng; g++) {
            int e = sc[j * ng + g];
            for (int64_t i = g * 32; i < g * 32 + 32; i++) {
                float x;
                if (bits == 4) {
                    unsigned q = row[i / 2] >> (4 * (i % 2)) & 15u;
                    x = q & 8u ? -E2M1[q & 7u] : E2M1[q];
                } else {
                    x = tq_fp8_e4m3_to_f32(row[i]);
                }
                float v = ldexpf(x, e - 127);
                if (e == 255 || !isfinite(v))
                    return tq_err(err, TQ_E_FORMAT, "row %lld, group %lld: scale exponent %d times element %g is not a "
                                  "finite float32 (MLX decodes it to inf or nan)", (long long)j, (long long)g, e,
                                  (double)x);
                o[i] = v;
            }
        }
    }
    return TQ_OK;
}

/* the block's reach: the largest element magnitude times its scale */
static tq_status fp_range(int bits, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi) {
    double m = ldexp(bits == 4 ? 6.0 : 448.0, ((const uint8_t *)aux[0])[b] - 127);
    *lo = -m;
    *hi = m;
    return TQ_OK;
}

#define FP_ROW(fn, BITS)                                                                                           \
    static int fn##_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],          \
                           tq_aux_desc aux[TQ_MAX_AUX]) {                                                         \
        return fp_layout(BITS, p, rows, cols, cd, cs, aux);                                                       \
    }                                                                                                             \
    static tq_status fn##_rows(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, \
                               int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,        \
                               tq_error *err) {                                                                   \
        (void)c;                                                                                                  \
        return fp_rows(BITS, p, rows, cols, r0, r1, codes, aux, out, err);                                        \
    }                                                                                                             \
    static tq_status fn##_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,          \
                                     const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {              \
        return fp_rows(BITS, p, rows, cols, 0, rows, codes, aux, out, err);                                       \
    }                                                                                                             \
    static tq_status fn##_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo,    \
                                double *hi, tq_error *err) {                                                      \
        (void)p; (void)err;                                                                                       \
        return fp_range(BITS, aux, b, lo, hi);                                                                    \
    }
FP_ROW(mxfp4, 4)
FP_ROW(mxfp8, 8)

const tq_codec_impl tq_codec_mlx_mxfp4 = {
    .info = {TQ_CODEC_MLX_MXFP4, "mlx-mxfp4", "MLX mxfp4 (mx.quantize mode mxfp4): E2M1 codes, E8M0 scale per 32, read only",
             1u << 4, 1u << TQ_GRAN_GROUP,
             "codes U32 [rows, cols/8] (8 E2M1 nibbles per word, low first); scales U8 [rows, cols/32] (E8M0: "
             "2^(e-127)); decode only", 4, TQ_GRAN_GROUP, 32, 0, 0, 1},
    .layout = mxfp4_layout,
    .dequantize = mxfp4_dequantize,
    .dequantize_rows = mxfp4_rows,
    .block_range = mxfp4_range,
};

const tq_codec_impl tq_codec_mlx_mxfp8 = {
    .info = {TQ_CODEC_MLX_MXFP8, "mlx-mxfp8", "MLX mxfp8 (mx.quantize mode mxfp8): E4M3 codes, E8M0 scale per 32, read only",
             1u << 8, 1u << TQ_GRAN_GROUP,
             "codes U32 [rows, cols/4] (4 E4M3 bytes per word, low first); scales U8 [rows, cols/32] (E8M0: "
             "2^(e-127)); decode only", 8, TQ_GRAN_GROUP, 32, 0, 0, 1},
    .layout = mxfp8_layout,
    .dequantize = mxfp8_dequantize,
    .dequantize_rows = mxfp8_rows,
    .block_range = mxfp8_range,
};
