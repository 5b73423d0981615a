/*
 * mlx.c — MLX affine quantization (mlx.core.quantize, mode "affine"), bit for
 * bit as MLX's CPU kernel computes it (docs/formats/mlx.md §math).
 *
 * Per group of g in {32, 64, 128} consecutive values of a row, in float32,
 * b in {2, 3, 4, 5, 6, 8}, n = 2^b - 1:
 *   s     = max((max w - min w) / n, 1e-7)
 *   edge  = min w if |min w| > |max w|, else max w, and then s = -s
 *   q0    = rint(edge / s); if q0 != 0: s = edge / q0, bias = edge; else bias = 0
 *   q     = clamp(rint((w - bias) / s), 0, n)           (rint: ties to even)
 *   dequantize  w' = s * q + bias
 * Scales can be negative; code 0 decodes to the group's dominant extreme.
 *
 * Storage: U32 codes [rows, cols * b / 32]: each row is a little-endian bit
 * stream, element i in stream bits [i*b, (i+1)*b) (LSB first); for b = 2, 4, 8
 * that is 32/b elements per word, for 3, 5, 6 elements straddle words. Every
 * group starts on a word (g * b is a multiple of 32). Side tensors "scales"
 * and "biases", F32 [rows, cols / g]. MLX stores them in the weight's dtype,
 * the float32 values rounded to nearest even (tq_mlx_round_side); the codes
 * were computed from the unrounded values, so rounding is a step after
 * quantize, done by the MLX writer (convert/mlx_export.c) and undone exactly
 * by widening on read.
 */
#include "codec/codec.h"
#include "codec/mlx.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MLX_BITS ((1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8))

static bool mlx_group_ok(int64_t g) { return g == 32 || g == 64 || g == 128; }

static int mlx_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                      tq_aux_desc aux[TQ_MAX_AUX]) {
    if (!(MLX_BITS & (1u << (p->bits & 15))) || p->bits > 8 || p->gran != TQ_GRAN_GROUP || !mlx_group_ok(p->group) ||
        p->pad || cols % p->group != 0)
        return -1;
    *cd = TQ_DTYPE_U32;
    cs[0] = rows;
    cs[1] = cols * p->bits / 32;
    aux[0].suffix = "scales";
    aux[0].dtype = TQ_DTYPE_F32;
    aux[0].ndim = 2;
    aux[0].shape[0] = rows;
    aux[0].shape[1] = cols / p->group;
    aux[0].per_row = 1;
    aux[1] = aux[0];
    aux[1].suffix = "biases";
    return 2;
}

/* the stream's bits [i*b, (i+1)*b) of a row of little-endian bytes */
static void put_code(uint8_t *row, int64_t i, int b, unsigned q) {
    int64_t bit = i * b;
    for (int k = 0; k < b; k++, bit++)
        if (q >> k & 1u) row[bit >> 3] |= (uint8_t)(1u << (bit & 7));
}
static unsigned get_code(const uint8_t *row, int64_t i, int b) {
    int64_t bit = i * b;
    unsigned q = 0;
    for (int k = 0; k < b; k++, bit++) q |= (unsigned)(row[bit >> 3] >> (bit & 7) & 1u) << k;
    return q;
}

void tq_mlx_group_params(const float *w, int64_t g, int bits, float *scale, float *bias) {
    float lo = w[0], hi = w[0];
    for (int64_t i = 1; i < g; i++) { if (w[i] < lo) lo = w[i]; if (w[i] > hi) hi = w[i]; }
    const float n = (float)((1 << bits) - 1);
    float s = (hi - lo) / n;
    if (!(s > 1e-7f)) s = 1e-7f;
    float edge = hi;
    if (fabsf(lo) > fabsf(hi)) edge = lo;
    else s = -s;
    float q0 = rintf(edge / s), b = 0.0f;
    if (q0 != 0.0f) { s = edge / q0; b = edge; }
    *scale = s;
    *bias = b;
}

static tq_status mlx_quantize(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                              void *const aux[TQ_MAX_AUX], tq_error *err) {
    (void)err;
    const int b = p->bits;
    const int64_t g = p->group, ng = cols / g, rb = cols * b / 8;
    const float n = (float)((1 << b) - 1);
    float *sc = aux[0], *bi = aux[1];
    memset(codes, 0, (size_t)(rows * rb));
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *row = (uint8_t *)codes + r * rb;
        for (int64_t k = 0; k < ng; k++) {
            const float *x = w + r * cols + k * g;
            float s, bias;
            tq_mlx_group_params(x, g, b, &s, &bias);
            sc[r * ng + k] = s;
            bi[r * ng + k] = bias;
            for (int64_t i = 0; i < g; i++) {
                float q = rintf((x[i] - bias) / s);
                q = q < 0.0f ? 0.0f : q > n ? n : q;
                put_code(row, k * g + i, b, (unsigned)q);
            }
        }
    }
    return TQ_OK;
}

static tq_status mlx_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    const int b = p->bits;
    const int64_t g = p->group, ng = cols / g, rb = cols * b / 8;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)codes + r * rb;
        for (int64_t k = 0; k < ng; k++) {
            float s = tq_ld_f32(aux[0], r * ng + k), bias = tq_ld_f32(aux[1], r * ng + k);
            if (!isfinite(s) || !isfinite(bias) || !isfinite(s * (float)((1 << b) - 1) + bias))
                return tq_err(err, TQ_E_FORMAT, "mlx: row %lld group %lld: scale %g / bias %g are not finite values",
                              (long long)r, (long long)k, (double)s, (double)bias);
            for (int64_t i = 0; i < g; i++) out[r * cols + k * g + i] = s * (float)get_code(row, k * g + i, b) + bias;
        }
    }
    return TQ_OK;
}

static tq_status mlx_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t blk, double *lo, double *hi,
                           tq_error *err) {
    (void)err;
    double s = tq_ld_f32(aux[0], blk), bias = tq_ld_f32(aux[1], blk), top = s * (double)((1 << p->bits) - 1) + bias;
    *lo = bias < top ? bias : top;
    *hi = bias < top ? top : bias;
    return TQ_OK;
}

/* the stored scale is the formula's, from the block's statistics: |s| >= (max - min)/n
 * rounded, never zero */
static bool mlx_block(const tq_qparams *p, const tq_selftest_block *st, const void *const aux[TQ_MAX_AUX], int64_t idx,
                      double *got, double *want, bool *usable) {
    (void)st;
    float s = tq_ld_f32(aux[0], idx);
    *got = s;
    *want = s;
    *usable = s != 0.0f;
    (void)p;
    return s != 0.0f && isfinite(s);
}

static bool mlx_weight(const tq_qparams *p, const uint8_t *codes, int64_t row_bytes, const void *const aux[TQ_MAX_AUX],
                       int64_t r, int64_t c, int64_t cols, int64_t idx, float x, int *code, double *err, double *bound) {
    (void)cols; (void)x; (void)err;
    unsigned q = get_code(codes + r * row_bytes, c, p->bits);
    *code = (int)q;
    /* a whole step, not half: s = edge/q0 makes the dominant extreme exact and
     * can shorten the grid, so the far extreme is clamped by up to n*s0^2/(2|edge|+s0)
     * <= |s| (|edge| >= n*s0/2, |s| >= s0*n/(n+1)); mlx's own test bound */
    *bound = fabs((double)tq_ld_f32(aux[0], idx)) * (1 + 1e-5);
    return q < (1u << p->bits);
}

float tq_mlx_round_side(float v, tq_dtype dt) {
    return dt == TQ_DTYPE_BF16 ? tq_bf16_to_f32(tq_f32_to_bf16(v)) : dt == TQ_DTYPE_F16 ? tq_f16_to_f32(tq_f32_to_f16(v)) : v;
}

#define C(b, g) {{TQ_CODEC_MLX, b, TQ_GRAN_GROUP, g, 0, 0, 0, 0}, ""}
static const tq_selftest_case MLX_CASES[] = {C(2, 32), C(3, 32), C(4, 64), C(5, 32), C(6, 64), C(8, 32), C(4, 32)};
#undef C
static const tq_codec_selftest MLX_SELFTEST = {MLX_CASES, 7, TQ_DTYPE_U32, TQ_DTYPE_U32, 8, 0, mlx_block, mlx_weight,
                                                0, NULL, NULL, 0, 1};
static const char *const MLX_ALIASES[] = {"mlx-affine", NULL};

const tq_codec_impl tq_codec_mlx = {
    {TQ_CODEC_MLX, "mlx", "MLX affine (mx.quantize): per group s, bias; code 0 is the dominant extreme", MLX_BITS,
     1u << TQ_GRAN_GROUP, "codes U32 [rows, cols*b/32], LSB-first bit stream per row; F32 scales and biases per group",
     8, TQ_GRAN_GROUP, 64, 0, 0},
    MLX_ALIASES, mlx_layout, mlx_quantize, mlx_dequantize, tq_codec_rows_sliced, mlx_range, &MLX_SELFTEST,
    1u << TQ_GRAN_GROUP, NULL, NULL, NULL};
