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
 * and "biases" [rows, cols / g]: F32 in row `mlx`, F16 in `mlx-f16`, BF16 in
 * `mlx-bf16` (MLX stores them in the weight's dtype): the float32 values
 * rounded to nearest even when stored, the codes computed from the unrounded
 * values (as mx.quantize); decode widens them (exact). Three rows, one math.
 */
#include "codec/codec.h"
#include "codec/mlx.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MLX_BITS ((1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8))

static bool mlx_group_ok(int64_t g) { return g == 32 || g == 64 || g == 128; }

/* the side tensors' dtype is the row's: mlx F32, mlx-f16 F16, mlx-bf16 BF16 */
static tq_dtype side_dtype(const tq_qparams *p) {
    return p->codec == TQ_CODEC_MLX_F16 ? TQ_DTYPE_F16 : p->codec == TQ_CODEC_MLX_BF16 ? TQ_DTYPE_BF16 : TQ_DTYPE_F32;
}

/* side value i, stored in dt, widened to float32 (exact) */
static float ld_side(const void *base, int64_t i, tq_dtype dt) {
    const uint8_t *b = (const uint8_t *)base;
    uint16_t h;
    if (dt == TQ_DTYPE_F32) return tq_ld_f32(base, i);
    memcpy(&h, b + 2 * i, 2);
    return dt == TQ_DTYPE_BF16 ? tq_bf16_to_f32(h) : tq_f16_to_f32(h);
}
static void st_side(void *base, int64_t i, tq_dtype dt, float v) {
    uint8_t *b = base;
    if (dt == TQ_DTYPE_F32) { memcpy(b + 4 * i, &v, 4); return; }
    uint16_t h = dt == TQ_DTYPE_BF16 ? tq_f32_to_bf16(v) : tq_f32_to_f16(v);
    if (dt == TQ_DTYPE_F16 && (h & 0x7fffu) == 0x7c00u) h = (uint16_t)((h & 0x8000u) | 0x7bffu);   /* saturate */
    memcpy(b + 2 * i, &h, 2);
}

/* bound on the error the stored rounding of s and bias adds to w' = s*q + bias
 * (q <= n): relative half-ulp of each, plus F16's subnormal half step */
static double side_rounding(tq_dtype dt, double s, double bias, int bits) {
    const double n = (double)((1 << bits) - 1);
    if (dt == TQ_DTYPE_F32) return 0.0;
    double u = dt == TQ_DTYPE_BF16 ? 0x1p-8 : 0x1p-11, a = dt == TQ_DTYPE_F16 ? 0x1p-25 : 0.0;
    return (n * fabs(s) + fabs(bias)) * u + (n + 1) * a;
}

static int mlx_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                      tq_aux_desc aux[TQ_MAX_AUX]) {
    if (!(MLX_BITS & (1u << (p->bits & 15))) || p->bits > 8 || p->gran != TQ_GRAN_GROUP || !mlx_group_ok(p->group) ||
        p->pad || cols % p->group != 0)
        return -1;
    *cd = TQ_DTYPE_U32;
    const tq_dtype sd = side_dtype(p);
    cs[0] = rows;
    cs[1] = cols * p->bits / 32;
    aux[0].suffix = "scales";
    aux[0].dtype = sd;
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
    const tq_dtype sd = side_dtype(p);
    memset(codes, 0, (size_t)(rows * rb));
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *row = (uint8_t *)codes + r * rb;
        for (int64_t k = 0; k < ng; k++) {
            const float *x = w + r * cols + k * g;
            float s, bias;
            tq_mlx_group_params(x, g, b, &s, &bias);
            st_side(aux[0], r * ng + k, sd, s);   /* stored rounded; the codes use s, bias unrounded */
            st_side(aux[1], r * ng + k, sd, bias);
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
    const tq_dtype sd = side_dtype(p);
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)codes + r * rb;
        for (int64_t k = 0; k < ng; k++) {
            float s = ld_side(aux[0], r * ng + k, sd), bias = ld_side(aux[1], r * ng + k, sd);
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
    const tq_dtype sd = side_dtype(p);
    double s = ld_side(aux[0], blk, sd), bias = ld_side(aux[1], blk, sd), top = s * (double)((1 << p->bits) - 1) + bias;
    *lo = bias < top ? bias : top;
    *hi = bias < top ? top : bias;
    return TQ_OK;
}

/* the stored scale is the formula's, from the block's statistics: |s| >= (max - min)/n
 * rounded, never zero */
static bool mlx_block(const tq_qparams *p, const tq_selftest_block *st, const void *const aux[TQ_MAX_AUX], int64_t idx,
                      double *got, double *want, bool *usable) {
    (void)st;
    float s = ld_side(aux[0], idx, side_dtype(p));
    *got = s;
    *want = s;
    *usable = s != 0.0f;
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
    const tq_dtype sd = side_dtype(p);
    double s = ld_side(aux[0], idx, sd), bias = ld_side(aux[1], idx, sd);
    *bound = fabs(s) * (1 + 1e-5) + side_rounding(sd, s, bias, p->bits);
    /* an F16 row given values beyond F16's range saturated its sides: no bound
     * (the row is for F16 weights, which never get there) */
    if (sd == TQ_DTYPE_F16 && (fabs(s) >= 65504.0 || fabs(bias) >= 65504.0)) *bound = INFINITY;
    return q < (1u << p->bits);
}

tq_codec_id tq_mlx_codec_for_side(tq_dtype dt) {
    return dt == TQ_DTYPE_F32 ? TQ_CODEC_MLX : dt == TQ_DTYPE_F16 ? TQ_CODEC_MLX_F16 : dt == TQ_DTYPE_BF16 ? TQ_CODEC_MLX_BF16
         : TQ_CODEC_NONE;
}

float tq_mlx_round_side(float v, tq_dtype dt) {
    return dt == TQ_DTYPE_BF16 ? tq_bf16_to_f32(tq_f32_to_bf16(v)) : dt == TQ_DTYPE_F16 ? tq_f16_to_f32(tq_f32_to_f16(v)) : v;
}

#define C(id, b, g) {{id, b, TQ_GRAN_GROUP, g, 0, 0, 0, 0}, ""}
#define CASES(id) {C(id, 2, 32), C(id, 3, 32), C(id, 4, 64), C(id, 5, 32), C(id, 6, 64), C(id, 8, 32), C(id, 4, 32)}
static const tq_selftest_case MLX_CASES[] = CASES(TQ_CODEC_MLX), MLX_F16_CASES[] = CASES(TQ_CODEC_MLX_F16),
                              MLX_BF16_CASES[] = CASES(TQ_CODEC_MLX_BF16);
#undef CASES
#undef C
#define SELFTEST(cases, side_bytes) {cases, 7, TQ_DTYPE_U32, TQ_DTYPE_U32, side_bytes, 0, mlx_block, mlx_weight, 0, NULL, NULL, 0, 1}
static const tq_codec_selftest MLX_SELFTEST = SELFTEST(MLX_CASES, 8), MLX_F16_SELFTEST = SELFTEST(MLX_F16_CASES, 4),
                               MLX_BF16_SELFTEST = SELFTEST(MLX_BF16_CASES, 4);
#undef SELFTEST
static const char *const MLX_ALIASES[] = {"mlx-affine", NULL};

#define MLX_ROW(id, name, side, aliases, selftest)                                                                  \
    {{id, name, "MLX affine (mx.quantize): per group s, bias (" side "); code 0 is the dominant extreme", MLX_BITS, \
      1u << TQ_GRAN_GROUP, "codes U32 [rows, cols*b/32], LSB-first bit stream per row; " side                     \
      " scales and biases per group", 8, TQ_GRAN_GROUP, 64, 0, 0, 0},                                             \
     aliases, mlx_layout, mlx_quantize, mlx_dequantize, tq_codec_rows_sliced, mlx_range, &selftest,               \
     1u << TQ_GRAN_GROUP, NULL, NULL, NULL}
const tq_codec_impl tq_codec_mlx = MLX_ROW(TQ_CODEC_MLX, "mlx", "F32", MLX_ALIASES, MLX_SELFTEST);
const tq_codec_impl tq_codec_mlx_f16 = MLX_ROW(TQ_CODEC_MLX_F16, "mlx-f16", "F16", NULL, MLX_F16_SELFTEST);
const tq_codec_impl tq_codec_mlx_bf16 = MLX_ROW(TQ_CODEC_MLX_BF16, "mlx-bf16", "BF16", NULL, MLX_BF16_SELFTEST);
#undef MLX_ROW
