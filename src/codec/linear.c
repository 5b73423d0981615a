/*
 * linear.c — linear (uniform) quantization, symmetric and affine, at tensor,
 * channel (row) or group granularity. Bit-exact with the seeds' numpy math in
 * float32 (docs/formats/trueq-safetensors.md §codecs).
 *
 * Symmetric, b bits, qmax = 2^(b-1) - 1 (127, 7, 1):
 *   per block   s = max|w| / qmax                     (float32)
 *               q = clamp(round_half_even(w / s), -qmax, qmax)
 *               an all-zero block: s = 0, q = 0 (likewise a block whose s
 *               would be subnormal, max|w| < qmax * FLT_MIN: stored as zeros)
 *   dequantize  w' = q * s
 *   storage     8-bit: I8 codes [rows, cols];
 *               4/2-bit: U8 [rows, ceil(cols*b/8)], each code stored as the
 *               unsigned u = q + 2^(b-1) (offset binary), packed LSB-first:
 *
 *                 4-bit byte:  bit 7..4 = u[2k+1]   bit 3..0 = u[2k]
 *                 2-bit byte:  | u[4k+3] | u[4k+2] | u[4k+1] | u[4k] |
 *                                bits 7-6   5-4       3-2       1-0
 *
 *               rows start on a byte boundary; unused high bits of a row's
 *               last byte are 0.
 *   side        F32 "__scale__": [] per tensor, [rows] per channel, [rows, groups].
 *
 * Affine, b bits, umax = 2^b - 1 (255, 15, 3):
 *   per block   lo = min(min w, 0), hi = max(max w, 0)
 *               s  = (hi - lo) / umax;  z = clamp(round_half_even(-lo / s), 0, umax)
 *               u  = clamp(round_half_even(w / s) + z, 0, umax)
 *               an all-zero block: s = 0, z = 0, u = 0 (also for a subnormal s;
 *               if hi - lo overflows float32, s is computed in double)
 *   dequantize  w' = (u - z) * s
 *   storage     U8 codes (8-bit) or packed as above; F32 "__scale__" and U8
 *               "__zero__" of the block shape.
 */
#include "codec/codec.h"
#include "codec/linear_search.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int sym_qmax(int bits) { return (1 << (bits - 1)) - 1; }

/* Round half to even, exactly as nearbyintf in the default rounding mode, for
 * |x| < 2^22 (adding 1.5 * 2^23 leaves no fraction bits, so the FPU's own
 * round-to-nearest-even does the work). Callers clamp x to a few hundred.
 * Written this way so the loops vectorize; never compiled with -ffast-math. */
static inline float rne(float x) {
    const float magic = 12582912.0f;
    return (x + magic) - magic;
}
static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* max |x| of n finite floats. For finite values the order of |x| is the order
 * of their bit patterns with the sign cleared, and an integer max reduction
 * vectorizes (a float one does not without -ffast-math). */
/* Hot loops get AVX-512 and AVX2 clones chosen at run time; the arithmetic is the same
 * IEEE operations (ISO C mode: no FMA contraction), so the bytes are too. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define TQ_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TQ_HOT
#endif

TQ_HOT static float absmax(const float *x, int64_t n) {
    uint32_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    float f;
    memcpy(&f, &m, 4);
    return f;
}

static int linear_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                         tq_aux_desc aux[TQ_MAX_AUX], bool affine) {
    if (p->bits != 8 && p->bits != 4 && p->bits != 2) return -1;
    cs[0] = rows;
    if (p->bits == 8) { *cd = affine ? TQ_DTYPE_U8 : TQ_DTYPE_I8; cs[1] = cols; }
    else { *cd = TQ_DTYPE_U8; cs[1] = tq_packed_row_bytes(cols, p->bits); }
    aux[0].suffix = "__scale__";
    aux[0].dtype = TQ_DTYPE_F32;
    tq_block_shape(p, rows, cols, &aux[0].ndim, aux[0].shape, &aux[0].per_row);
    if (!affine) return 1;
    aux[1] = aux[0];
    aux[1].suffix = "__zero__";
    aux[1].dtype = TQ_DTYPE_U8;
    return 2;
}

static int sym_layout(const tq_qparams *p, int64_t r, int64_t c, tq_dtype *cd, int64_t cs[2], tq_aux_desc a[TQ_MAX_AUX]) {
    return linear_layout(p, r, c, cd, cs, a, false);
}
static int aff_layout(const tq_qparams *p, int64_t r, int64_t c, tq_dtype *cd, int64_t cs[2], tq_aux_desc a[TQ_MAX_AUX]) {
    return linear_layout(p, r, c, cd, cs, a, true);
}

/* Iterate the blocks of a [rows, cols] matrix: for tensor granularity one
 * block spanning everything, else (row, group) blocks. The block index is the
 * index into the flat side tensors. */
typedef struct blk { int64_t r0, r1, c0, c1, idx; } blk;

static blk block_at(const tq_qparams *p, int64_t rows, int64_t cols, int64_t i) {
    blk b;
    if (p->gran == TQ_GRAN_TENSOR) { b.r0 = 0; b.r1 = rows; b.c0 = 0; b.c1 = cols; b.idx = 0; return b; }
    int64_t glen, ng = tq_groups_per_row(p, cols, &glen);
    b.r0 = i / ng; b.r1 = b.r0 + 1;
    b.c0 = (i % ng) * glen;
    b.c1 = b.c0 + glen < cols ? b.c0 + glen : cols;
    b.idx = i;
    return b;
}

/* Unsigned code matrix [rows, cols] -> packed codes (or I8 for 8-bit sym). */
static void store_codes(const tq_qparams *p, const uint8_t *u, int64_t rows, int64_t cols, void *codes) {
    int64_t rb = p->bits == 8 ? cols : tq_packed_row_bytes(cols, p->bits);
    for (int64_t r = 0; r < rows; r++) tq_pack_row(u + r * cols, cols, p->bits, (uint8_t *)codes + r * rb);
}
static void load_codes(const tq_qparams *p, const void *codes, int64_t r, int64_t cols, uint8_t *u) {
    int64_t rb = p->bits == 8 ? cols : tq_packed_row_bytes(cols, p->bits);
    tq_unpack_row((const uint8_t *)codes + r * rb, cols, p->bits, u);
}

/* One block of linear-sym: its scale, and its codes into the unsigned code
 * matrix u (offset binary below 8 bits, the int8 byte at 8 bits). */
TQ_HOT static tq_status sym_block_codes(const tq_qparams *p, const float *w, int64_t cols, blk b,
                                        void *const aux[TQ_MAX_AUX], uint8_t *u, tq_error *err) {
    const int qmax = sym_qmax(p->bits), off = p->bits == 8 ? 0 : 1 << (p->bits - 1);
    float amax = 0.0f;
    for (int64_t r = b.r0; r < b.r1; r++) {
        float m = absmax(w + r * cols + b.c0, b.c1 - b.c0);
        if (m > amax) amax = m;
    }
    float s = amax / (float)qmax;
    if (s < FLT_MIN) s = 0.0f;   /* a subnormal scale cannot hold the grid: store the block as zeros */
    int z = 0;   /* blocks are contiguous: one row's group, one row, or the whole tensor */
    tq_status st = tq_linsearch_block(p->method, w + b.r0 * cols + b.c0, (b.r1 - b.r0 - 1) * cols + (b.c1 - b.c0),
                                      qmax, false, &s, &z, err);
    if (st) return st;
    ((float *)aux[0])[b.idx] = s;
    const float fq = (float)qmax;
    for (int64_t r = b.r0; r < b.r1; r++) {
        const float *wr = w + r * cols;
        uint8_t *ur = u + r * cols;
        if (s > 0.0f) {
            /* |w/s| <= qmax (+ rounding; s = max|w|/qmax), well inside rne's range */
            for (int64_t c = b.c0; c < b.c1; c++) ur[c] = (uint8_t)((int)clampf(rne(wr[c] / s), -fq, fq) + off);
        } else {
            for (int64_t c = b.c0; c < b.c1; c++) ur[c] = (uint8_t)off;
        }
    }
    return TQ_OK;
}

/* One block of linear-affine: its scale and zero point, and its codes into u. */
TQ_HOT static tq_status aff_block_codes(const tq_qparams *p, const float *w, int64_t cols, blk b,
                                        void *const aux[TQ_MAX_AUX], uint8_t *u, tq_error *err) {
    const int umax = (1 << p->bits) - 1;
    float lo = 0.0f, hi = 0.0f;
    for (int64_t r = b.r0; r < b.r1; r++)
        for (int64_t c = b.c0; c < b.c1; c++) { float v = w[r * cols + c]; if (v < lo) lo = v; if (v > hi) hi = v; }
    float s = (hi - lo) / (float)umax;
    if (isinf(s)) s = (float)(((double)hi - (double)lo) / (double)umax);  /* hi - lo overflowed float */
    if (s < FLT_MIN) s = 0.0f;   /* subnormal: store the block as zeros */
    int z = 0;
    if (s > 0.0f) {
        float zf = nearbyintf(-lo / s);
        z = zf < 0.0f ? 0 : zf > (float)umax ? umax : (int)zf;
    }
    tq_status st = tq_linsearch_block(p->method, w + b.r0 * cols + b.c0, (b.r1 - b.r0 - 1) * cols + (b.c1 - b.c0),
                                      umax, true, &s, &z, err);
    if (st) return st;
    ((float *)aux[0])[b.idx] = s;
    ((uint8_t *)aux[1])[b.idx] = (uint8_t)z;
    const float fu = (float)umax, fz = (float)z;
    for (int64_t r = b.r0; r < b.r1; r++) {
        const float *wr = w + r * cols;
        uint8_t *ur = u + r * cols;
        if (s > 0.0f) {
            for (int64_t c = b.c0; c < b.c1; c++) ur[c] = (uint8_t)(int)clampf(rne(clampf(wr[c] / s, -fu - 1, fu + 1)) + fz, 0.0f, fu);
        } else {
            for (int64_t c = b.c0; c < b.c1; c++) ur[c] = 0;
        }
    }
    return TQ_OK;
}

/* Both linear codecs: every block in order, then packing below 8 bits. */
static tq_status linear_quantize(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                                 void *const aux[TQ_MAX_AUX], tq_error *err, bool affine) {
    uint8_t *u = p->bits == 8 ? codes : malloc((size_t)(rows * cols) + 1);
    if (!u) return tq_err(err, TQ_E_NOMEM, "out of memory for %lld codes", (long long)(rows * cols));
    int64_t nb = tq_block_count(p, rows, cols);
    tq_status st = TQ_OK;
    for (int64_t i = 0; i < nb && !st; i++) {
        if (affine) st = aff_block_codes(p, w, cols, block_at(p, rows, cols, i), aux, u, err);
        else st = sym_block_codes(p, w, cols, block_at(p, rows, cols, i), aux, u, err);
    }
    if (st) { if (p->bits != 8) free(u); return st; }
    if (p->bits != 8) { store_codes(p, u, rows, cols, codes); free(u); }
    return TQ_OK;
}
static tq_status sym_quantize(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                              void *const aux[TQ_MAX_AUX], tq_error *err) {
    return linear_quantize(p, w, rows, cols, codes, aux, err, false);
}
static tq_status aff_quantize(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                              void *const aux[TQ_MAX_AUX], tq_error *err) {
    return linear_quantize(p, w, rows, cols, codes, aux, err, true);
}

/* Both linear codecs: w' = q * s, q = the signed code (sym) or u - z (affine). */
static tq_status linear_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                   const void *const aux[TQ_MAX_AUX], float *out, tq_error *err, bool affine) {
    const float *scale = aux[0];
    const uint8_t *zero = affine ? aux[1] : NULL;
    const int off = p->bits == 8 ? 0 : 1 << (p->bits - 1);
    uint8_t *u = malloc((size_t)cols + 1);
    if (!u) return tq_err(err, TQ_E_NOMEM, "out of memory");
    int64_t glen, ng = tq_groups_per_row(p, cols, &glen);
    for (int64_t r = 0; r < rows; r++) {
        load_codes(p, codes, r, cols, u);
        for (int64_t c = 0; c < cols; c++) {
            int64_t k = p->gran == TQ_GRAN_TENSOR ? 0 : p->gran == TQ_GRAN_CHANNEL ? r : r * ng + c / glen;
            int q = affine ? (int)u[c] - (int)zero[k] : p->bits == 8 ? (int)(int8_t)u[c] : (int)u[c] - off;
            out[r * cols + c] = (float)q * scale[k];
        }
    }
    free(u);
    return TQ_OK;
}
static tq_status sym_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    return linear_dequantize(p, rows, cols, codes, aux, out, err, false);
}
static tq_status aff_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    return linear_dequantize(p, rows, cols, codes, aux, out, err, true);
}

/* ---- representable range, self-test expectations ------------------------- */

static tq_status sym_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi,
                           tq_error *err) {
    (void)err;
    double s = tq_ld_f32(aux[0], b), qm = (double)sym_qmax(p->bits);
    *lo = -qm * s;
    *hi = qm * s;
    return TQ_OK;
}

static tq_status aff_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi,
                           tq_error *err) {
    (void)err;
    double s = tq_ld_f32(aux[0], b), z = ((const uint8_t *)aux[1])[b], um = (double)((1 << p->bits) - 1);
    *lo = (0 - z) * s;
    *hi = (um - z) * s;
    return TQ_OK;
}

/* scale = max|w| / qmax (sym) or (hi - lo) / umax (affine), in float32 */
static bool sym_block(const tq_qparams *p, const tq_selftest_block *b, const void *const aux[TQ_MAX_AUX], int64_t idx,
                      double *got, double *want, bool *usable) {
    float s = tq_ld_f32(aux[0], idx), f = b->amax / (float)sym_qmax(p->bits);
    *got = s; *want = f;
    *usable = b->amax == 0 || s > 0;
    return s == f;
}
static bool aff_block(const tq_qparams *p, const tq_selftest_block *b, const void *const aux[TQ_MAX_AUX], int64_t idx,
                      double *got, double *want, bool *usable) {
    float s = tq_ld_f32(aux[0], idx), f = (b->hi - b->lo) / (float)((1 << p->bits) - 1);
    *got = s; *want = f;
    *usable = b->amax == 0 || s > 0;
    return s == f;
}

/* the code lies in [-qmax, qmax] (sym) or [0, umax] with z in [0, umax]; the
 * error is at most half a step, s/2 */
static bool sym_weight(const tq_qparams *p, const uint8_t *codes, int64_t row_bytes, const void *const aux[TQ_MAX_AUX],
                       int64_t r, int64_t c, int64_t cols, int64_t idx, float x, int *code, double *err, double *bound) {
    (void)cols; (void)x; (void)err;
    int u = tq_packed_code(codes + r * row_bytes, c, p->bits), qmax = sym_qmax(p->bits);
    int q = p->bits == 8 ? (int)(int8_t)u : u - (1 << (p->bits - 1));
    *code = u;
    *bound = tq_ld_f32(aux[0], idx) * 0.5 * (1 + 1e-6);
    return q >= -qmax && q <= qmax;
}
static bool aff_weight(const tq_qparams *p, const uint8_t *codes, int64_t row_bytes, const void *const aux[TQ_MAX_AUX],
                       int64_t r, int64_t c, int64_t cols, int64_t idx, float x, int *code, double *err, double *bound) {
    (void)cols; (void)x; (void)err;
    int u = tq_packed_code(codes + r * row_bytes, c, p->bits), umax = (1 << p->bits) - 1;
    *code = u;
    *bound = tq_ld_f32(aux[0], idx) * 0.5 * (1 + 1e-6);
    return u <= umax && ((const uint8_t *)aux[1])[idx] <= umax;
}

/* every bit width x tensor, channel, group of 16 */
#define CASES_AT(id, b) {{id, b, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0}, ""}, {{id, b, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0}, ""}, \
                        {{id, b, TQ_GRAN_GROUP, 16, 0, 0, 0, 0}, ""}
static const tq_selftest_case SYM_CASES[] = {CASES_AT(TQ_CODEC_LINEAR_SYM, 2), CASES_AT(TQ_CODEC_LINEAR_SYM, 4),
                                             CASES_AT(TQ_CODEC_LINEAR_SYM, 8)};
static const tq_selftest_case AFF_CASES[] = {CASES_AT(TQ_CODEC_LINEAR_AFFINE, 2), CASES_AT(TQ_CODEC_LINEAR_AFFINE, 4),
                                             CASES_AT(TQ_CODEC_LINEAR_AFFINE, 8)};
static const tq_codec_selftest SYM_SELFTEST = {SYM_CASES, 9, TQ_DTYPE_I8, TQ_DTYPE_U8, 4, 0, sym_block, sym_weight, 0, NULL, NULL, 0, 0};
static const tq_codec_selftest AFF_SELFTEST = {AFF_CASES, 9, TQ_DTYPE_U8, TQ_DTYPE_U8, 5, 0, aff_block, aff_weight, 0, NULL, NULL, 0, 0};
static const char *const SYM_ALIASES[] = {"sym", "symmetric", "linear", NULL};
static const char *const AFF_ALIASES[] = {"affine", "asym", NULL};

#define ALL_GRANS ((1u << TQ_GRAN_TENSOR) | (1u << TQ_GRAN_CHANNEL) | (1u << TQ_GRAN_GROUP))
#define LINEAR_BITS ((1u << 8) | (1u << 4) | (1u << 2))
#define LINEAR_ROW_LOCAL ((1u << TQ_GRAN_CHANNEL) | (1u << TQ_GRAN_GROUP))

const tq_codec_impl tq_codec_linear_sym = {
    {TQ_CODEC_LINEAR_SYM, "linear-sym", "symmetric linear: s = max|w|/qmax, q = round(w/s) in [-qmax, qmax]",
     LINEAR_BITS, ALL_GRANS, "codes I8 (8-bit) or U8 packed LSB-first as q+2^(b-1); F32 __scale__ per block",
     8, TQ_GRAN_CHANNEL, 0, 0, 0, 0},
    SYM_ALIASES, sym_layout, sym_quantize, sym_dequantize, tq_codec_rows_sliced, sym_range, &SYM_SELFTEST,
    LINEAR_ROW_LOCAL, NULL, NULL, sym_quantize};

const tq_codec_impl tq_codec_linear_affine = {
    {TQ_CODEC_LINEAR_AFFINE, "linear-affine",
     "affine linear: s = (max-min)/(2^b-1), zero point z, u = round(w/s)+z in [0, 2^b-1]", LINEAR_BITS, ALL_GRANS,
     "codes U8 (8-bit) or U8 packed LSB-first; F32 __scale__ and U8 __zero__ per block", 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0},
    AFF_ALIASES, aff_layout, aff_quantize, aff_dequantize, tq_codec_rows_sliced, aff_range, &AFF_SELFTEST,
    LINEAR_ROW_LOCAL, NULL, NULL, aff_quantize};
