/*
 * softmax.c — attention softmax rows with a branch-free exponential
 * (softmax.h).
 *
 * A row is softmax(x / d) = 2^((x - max) * (log2 e / d)) normalised: the
 * scale and log2 e fold into one factor applied after the subtraction (no
 * division per element, no separate scaling pass), so the exponential is a
 * base-2 one, 2^t for t <= 0: n = rne(t) (by adding and taking away
 * 1.5 * 2^23, or vrndscaleps: the same integer), f = t - n (exact, |f| <=
 * 1/2), 2^f by a degree-6 minimax polynomial in Horner form with fused
 * multiply-adds (fmaf in C, vfmadd in the vector forms: the same roundings),
 * 2^n added to the exponent bits (vscalefps in the AVX-512 form: the same
 * value, the result being a normal float). The polynomial's relative error
 * against 2^f is 1.9e-9 (a Remez fit in 40 digits, coefficients rounded to
 * float); evaluated in float it is within 8.0e-8 of exp2 in double over
 * every float f in [-1/2, 1/2] (checked exhaustively when it was fitted;
 * test_enc_vec checks 1e-7 on a dense sample). t is clamped at -125 so the
 * result stays normal; below -125 (e^-86.6) the weight is 0. Every step is
 * one IEEE operation in a fixed order and the reductions run in one tree
 * order (16 lanes: l + 8, then l + 4, l + 2, l + 1), so the AVX-512, AVX2
 * and C forms of these loops give the same bytes.
 */
#include "nn/ops/softmax.h"
#include "nn/ops/vec.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "nn/ops/hot.h"   /* O3 vector loops, no contraction */

#define LANES 16
#define LOG2E 1.44269504088896341f
#define TLO -125.0f

/* 2^f on [-1/2, 1/2]: E2[k] is the coefficient of f^k. */
static const float E2[7] = {1.0000000005541647956f,  0.69314720573719575134f,  0.24022646890645520696f,
                            0.05550328777105324799f, 0.0096184889563311816196f, 0.0013399931177239737967f,
                            0.00015345812161311629759f};

/* 2^t for t <= 127 or NaN: 0 below -125, NaN in, NaN out. */
static inline float exp2_core(float t) {
    const float magic = 12582912.0f;
    float c = t > TLO ? t : TLO;   /* NaN goes to -125 here (no NaN to int below) */
    c = c < 127.0f ? c : 127.0f;   /* (the softmax's t are <= 0: the vector forms skip this) */
    float n = (c + magic) - magic;
    float f = c - n;
    float p = E2[6];
    for (int k = 5; k >= 0; k--) p = fmaf(p, f, E2[k]);
    int32_t bits, ni = (int32_t)n;
    memcpy(&bits, &p, 4);
    bits = (int32_t)((uint32_t)bits + ((uint32_t)ni << 23));
    float v;
    memcpy(&v, &bits, 4);
    return t != t ? t : t < TLO ? 0.0f : v;
}

float tq_softmax_exp2(float t) { return exp2_core(t); }

float tq_softmax_exp(float x) {
    if (x != x) return x;
    if (x < -86.0f) return 0.0f;
    float c = x < 88.0f ? x : 88.0f;
    const float magic = 12582912.0f;
    float n = (c * LOG2E + magic) - magic;
    float r = (c - n * 0.693359375f) - n * -2.12194440e-4f;   /* ln 2 in two parts: n * hi exact */
    float f = r * LOG2E, p = E2[6];
    for (int k = 5; k >= 0; k--) p = fmaf(p, f, E2[k]);
    return ldexpf(p, (int)n);
}

/* The factor t = (x - max) * k: log2 e / div, or log2 e (div 0). */
static float row_factor(float div) { return div != 0.0f ? LOG2E / div : LOG2E; }

static void softmax_row(float *r, int n, const int32_t *mask, float div) {
    const float k = row_factor(div);
    float ml[LANES], acc[LANES];
    for (int l = 0; l < LANES; l++) ml[l] = -INFINITY, acc[l] = 0.0f;
    for (int j = 0; j < n; j++)
        if (!mask || mask[j]) ml[j % LANES] = r[j] > ml[j % LANES] ? r[j] : ml[j % LANES];
    for (int w = LANES / 2; w; w /= 2)
        for (int l = 0; l < w; l++) ml[l] = ml[l + w] > ml[l] ? ml[l + w] : ml[l];
    float mx = ml[0];
    for (int j = 0; j < n; j++) {
        float e = !mask || mask[j] ? exp2_core((r[j] - mx) * k) : 0.0f;
        r[j] = e;
        acc[j % LANES] += e;
    }
    for (int w = LANES / 2; w; w /= 2)
        for (int l = 0; l < w; l++) acc[l] = acc[l] + acc[l + w];
    float inv = 1.0f / acc[0];
    for (int j = 0; j < n; j++) r[j] *= inv;
}

void tq_softmax_row_ref(float *r, int n, const int32_t *mask, float div) { softmax_row(r, n, mask, div); }

#if defined(__x86_64__)
#define TGT512 __attribute__((target("avx512f")))

/* exp2_core on 16 lanes, its steps in its order; lanes off `keep` are 0. */
TGT512 static inline __attribute__((always_inline)) __m512 exp2_16(__m512 t, __mmask16 keep) {
    const __m512 lo = _mm512_set1_ps(TLO);
    __m512 c = _mm512_max_ps(lo, t);   /* -125 > t ? -125 : t (NaN: t, carried through to the result) */
    __m512 n = _mm512_roundscale_ps(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(c, n);
    __m512 p = _mm512_set1_ps(E2[6]);
    for (int k = 5; k >= 0; k--) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(E2[k]));
    __mmask16 in = _mm512_cmp_ps_mask(t, lo, _CMP_NLT_UQ);   /* t >= -125 or NaN */
    return _mm512_maskz_scalef_ps(keep & in, p, n);
}

TGT512 static inline __mmask16 tail(int j, int n) {
    return n - j >= LANES ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1u);
}

/* Lane 0 of the tree reductions (l + 8, l + 4, l + 2, l + 1), broadcast. */
TGT512 static inline __m512 tree_max16(__m512 m) {
    m = _mm512_max_ps(_mm512_shuffle_f32x4(m, m, _MM_SHUFFLE(1, 0, 3, 2)), m);   /* m[l+8] > m[l] ? m[l+8] : m[l] */
    m = _mm512_max_ps(_mm512_shuffle_f32x4(m, m, _MM_SHUFFLE(2, 3, 0, 1)), m);
    m = _mm512_max_ps(_mm512_permute_ps(m, _MM_SHUFFLE(1, 0, 3, 2)), m);
    m = _mm512_max_ps(_mm512_permute_ps(m, _MM_SHUFFLE(2, 3, 0, 1)), m);
    return _mm512_broadcastss_ps(_mm512_castps512_ps128(m));
}

TGT512 static inline __m512 tree_sum16(__m512 a) {
    a = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, _MM_SHUFFLE(1, 0, 3, 2)));
    a = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, _MM_SHUFFLE(2, 3, 0, 1)));
    a = _mm512_add_ps(a, _mm512_permute_ps(a, _MM_SHUFFLE(1, 0, 3, 2)));
    a = _mm512_add_ps(a, _mm512_permute_ps(a, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_broadcastss_ps(_mm512_castps512_ps128(a));
}

/* softmax_row's steps in its order for R rows of n at stride n, each pass
 * over the R rows in turn: the rows' chains are independent, so the
 * out-of-order core overlaps one row's exp and sums with the others'. The
 * key mask (one for all rows) is read once per block of 16 for the R rows;
 * every row gets the bytes it gets alone. */
#define RMAX 4
TGT512 static inline __attribute__((always_inline)) void rows512(float *r0, const int R, int n, const int32_t *mask,
                                                                 float div) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY), vk = _mm512_set1_ps(row_factor(div));
    __m512 ml[RMAX], acc[RMAX];
    for (int q = 0; q < R; q++) ml[q] = ninf, acc[q] = _mm512_setzero_ps();
    for (int j = 0; j < n; j += LANES) {
        __mmask16 keep = tail(j, n);
        if (mask) keep = _mm512_mask_cmpneq_epi32_mask(keep, _mm512_maskz_loadu_epi32(keep, mask + j), _mm512_setzero_si512());
        for (int q = 0; q < R; q++)   /* v > ml ? v : ml on the kept lanes */
            ml[q] = _mm512_mask_max_ps(ml[q], keep, _mm512_maskz_loadu_ps(keep, r0 + (size_t)q * n + j), ml[q]);
    }
    for (int q = 0; q < R; q++) ml[q] = tree_max16(ml[q]);
    for (int j = 0; j < n; j += LANES) {
        __mmask16 m = tail(j, n), keep = m;
        if (mask) keep = _mm512_mask_cmpneq_epi32_mask(m, _mm512_maskz_loadu_epi32(m, mask + j), _mm512_setzero_si512());
        for (int q = 0; q < R; q++) {
            float *r = r0 + (size_t)q * n;
            __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, r + j), ml[q]), vk);
            __m512 e = exp2_16(t, keep);
            _mm512_mask_storeu_ps(r + j, m, e);
            acc[q] = _mm512_add_ps(acc[q], e);   /* lanes past the tail add 0 */
        }
    }
    for (int q = 0; q < R; q++) acc[q] = _mm512_div_ps(_mm512_set1_ps(1.0f), tree_sum16(acc[q]));
    for (int j = 0; j < n; j += LANES) {
        __mmask16 m = tail(j, n);
        for (int q = 0; q < R; q++) {
            float *r = r0 + (size_t)q * n;
            _mm512_mask_storeu_ps(r + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, r + j), acc[q]));
        }
    }
}

TGT512 void tq_softmax_row_avx512(float *r, int n, const int32_t *mask, float div) { rows512(r, 1, n, mask, div); }

TGT512 void tq_softmax_rows_avx512(float *r, int rows, int n, const int32_t *mask, float div) {
    int i = 0;
    for (; i + RMAX <= rows; i += RMAX) rows512(r + (size_t)i * n, RMAX, n, mask, div);
    for (; i < rows; i++) rows512(r + (size_t)i * n, 1, n, mask, div);
}
#define TGT2 __attribute__((target("avx2,fma")))

/* exp2_16's steps on 8 lanes; lanes off `keep` (all bits set: kept) are 0. */
TGT2 static inline __attribute__((always_inline)) __m256 exp2_8(__m256 t, __m256 keep) {
    const __m256 lo = _mm256_set1_ps(TLO);
    __m256 c = _mm256_max_ps(t, lo);   /* NaN: -125 (no NaN to int), the NaN put back below */
    __m256 n = _mm256_round_ps(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_sub_ps(c, n);
    __m256 p = _mm256_set1_ps(E2[6]);
    for (int k = 5; k >= 0; k--) p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(E2[k]));
    __m256 v = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23)));
    v = _mm256_and_ps(v, _mm256_and_ps(keep, _mm256_cmp_ps(t, lo, _CMP_NLT_UQ)));
    return _mm256_blendv_ps(v, t, _mm256_and_ps(keep, _mm256_cmp_ps(t, t, _CMP_UNORD_Q)));
}

/* All bits set on lanes j + i < n (i = 0..7), 0 beyond. */
TGT2 static inline __m256i tail8(int j, int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n - j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Lanes kept: in the row and (mask) mask[j + i] != 0. */
TGT2 static inline __m256 keep8(const int32_t *mask, int j, int n) {
    __m256i m = tail8(j, n);
    if (mask) m = _mm256_andnot_si256(_mm256_cmpeq_epi32(_mm256_maskload_epi32(mask + j, m), _mm256_setzero_si256()), m);
    return _mm256_castsi256_ps(m);
}

/* softmax_row's steps in its order, the 16 lanes as two vectors of 8
 * (lo: lanes 0..7, hi: 8..15); the tree's first step adds hi to lo. */
TGT2 void tq_softmax_row_avx2(float *r, int n, const int32_t *mask, float div) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY), vk = _mm256_set1_ps(row_factor(div));
    __m256 ml[2] = {ninf, ninf}, acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int j = 0; j < n; j += 8) {
        __m256 keep = keep8(mask, j, n), v = _mm256_maskload_ps(r + j, _mm256_castps_si256(keep));
        int h = j / 8 % 2;   /* v > ml ? v : ml on the kept lanes */
        ml[h] = _mm256_blendv_ps(ml[h], _mm256_max_ps(v, ml[h]), keep);
    }
    __m256 m = _mm256_max_ps(ml[1], ml[0]);
    m = _mm256_max_ps(_mm256_permute2f128_ps(m, m, 1), m);
    m = _mm256_max_ps(_mm256_permute_ps(m, _MM_SHUFFLE(1, 0, 3, 2)), m);
    m = _mm256_max_ps(_mm256_permute_ps(m, _MM_SHUFFLE(2, 3, 0, 1)), m);
    __m256 vmx = _mm256_permute2f128_ps(_mm256_permute_ps(m, 0), _mm256_permute_ps(m, 0), 0);   /* lane 0 */
    for (int j = 0; j < n; j += 8) {
        __m256i in = tail8(j, n);
        __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(r + j, in), vmx), vk);
        __m256 e = exp2_8(t, keep8(mask, j, n));
        _mm256_maskstore_ps(r + j, in, e);
        acc[j / 8 % 2] = _mm256_add_ps(acc[j / 8 % 2], e);
    }
    __m256 a = _mm256_add_ps(acc[0], acc[1]);
    a = _mm256_add_ps(a, _mm256_permute2f128_ps(a, a, 1));
    a = _mm256_add_ps(a, _mm256_permute_ps(a, _MM_SHUFFLE(1, 0, 3, 2)));
    a = _mm256_add_ps(a, _mm256_permute_ps(a, _MM_SHUFFLE(2, 3, 0, 1)));
    __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), a);   /* every lane holds the sum */
    for (int j = 0; j < n; j += 8) {
        __m256i in = tail8(j, n);
        _mm256_maskstore_ps(r + j, in, _mm256_mul_ps(_mm256_maskload_ps(r + j, in), inv));
    }
}
#else
void tq_softmax_row_avx512(float *r, int n, const int32_t *mask, float div) { softmax_row(r, n, mask, div); }
void tq_softmax_rows_avx512(float *r, int rows, int n, const int32_t *mask, float div) {
    for (int i = 0; i < rows; i++) softmax_row(r + (size_t)i * n, n, mask, div);
}
void tq_softmax_row_avx2(float *r, int n, const int32_t *mask, float div) { softmax_row(r, n, mask, div); }
#endif

void tq_softmax_rows(float *r, int rows, int n, const int32_t *mask, float div) {
    if (tq_vec_avx512()) tq_softmax_rows_avx512(r, rows, n, mask, div);
    else if (tq_vec_avx2())
        for (int i = 0; i < rows; i++) tq_softmax_row_avx2(r + (size_t)i * n, n, mask, div);
    else
        for (int i = 0; i < rows; i++) softmax_row(r + (size_t)i * n, n, mask, div);
}

void tq_softmax_row(float *r, int n, const int32_t *mask, float div) {
    if (tq_vec_avx512()) tq_softmax_row_avx512(r, n, mask, div);
    else if (tq_vec_avx2()) tq_softmax_row_avx2(r, n, mask, div);
    else softmax_row(r, n, mask, div);
}
