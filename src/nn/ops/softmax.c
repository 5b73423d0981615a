/*
 * softmax.c — attention softmax rows with a branch-free exponential
 * (softmax.h).
 *
 * exp(x) = 2^n e^r with n = rne(x log2 e) (by adding and taking away
 * 1.5 * 2^23), r = x - n ln2 in two steps (ln2 split so n * LN2_HI is exact),
 * e^r by its Taylor polynomial of degree 7 (|r| <= 0.35: truncation below
 * 5e-9 relative), 2^n added to the exponent bits. Arguments are clamped to
 * [-86, 88] so 2^n and the result stay normal floats; below -86 the result
 * is 0. Every step is one IEEE operation in a fixed order (no contraction
 * into FMA: the pragma below, and gcc's clones enable no FMA), so the AVX-512,
 * AVX2 and plain builds of these loops give the same bytes.
 */
#include "nn/ops/softmax.h"
#include "nn/ops/vec.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "nn/ops/hot.h"   /* O3 vector loops, no contraction, TQ_HOT clones */

#define LANES 16

static inline float exp_poly(float x) {
    const float magic = 12582912.0f;
    float c = x > -86.0f ? x : -86.0f;   /* NaN goes to -86 here (no NaN to int below) */
    c = c < 88.0f ? c : 88.0f;
    float n = (c * 1.44269504088896341f + magic) - magic;
    float r = (c - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.98412698e-4f;   /* 1/5040 */
    p = p * r + 1.38888889e-3f;  /* 1/720 */
    p = p * r + 8.33333333e-3f;  /* 1/120 */
    p = p * r + 4.16666667e-2f;  /* 1/24  */
    p = p * r + 1.66666667e-1f;  /* 1/6   */
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits, ni = (int32_t)n;
    memcpy(&bits, &p, 4);
    bits += (int32_t)((uint32_t)ni << 23);
    float v;
    memcpy(&v, &bits, 4);
    return x != x ? x : x < -86.0f ? 0.0f : v;   /* NaN in, NaN out */
}

float tq_softmax_exp(float x) { return exp_poly(x); }

/* (clones of a static function: clang does not clone an exported one) */
TQ_HOT static void softmax_row(float *r, int n, const int32_t *mask, float div) {
    float mx = -INFINITY;
    if (div != 0.0f)
        for (int j = 0; j < n; j++) r[j] = r[j] / div;
    if (mask)
        for (int j = 0; j < n; j++) r[j] = mask[j] ? r[j] : -INFINITY;
    float ml[LANES];
    for (int l = 0; l < LANES; l++) ml[l] = -INFINITY;
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) ml[l] = r[j + l] > ml[l] ? r[j + l] : ml[l];
    for (int l = 0; j < n; j++, l++) ml[l] = r[j] > ml[l] ? r[j] : ml[l];
    for (int l = 0; l < LANES; l++) mx = ml[l] > mx ? ml[l] : mx;
    float acc[LANES] = {0};
    j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) {
            float e = exp_poly(r[j + l] - mx);
            r[j + l] = e;
            acc[l] += e;
        }
    for (int l = 0; j < n; j++, l++) {
        float e = exp_poly(r[j] - mx);
        r[j] = e;
        acc[l] += e;
    }
    float sum = 0.0f;
    for (int l = 0; l < LANES; l++) sum += acc[l];
    float inv = 1.0f / sum;
    for (j = 0; j < n; j++) r[j] *= inv;
}

void tq_softmax_row_ref(float *r, int n, const int32_t *mask, float div) { softmax_row(r, n, mask, div); }

#if defined(__x86_64__)
#define TGT512 __attribute__((target("avx512f")))

/* exp_poly on 16 lanes, its steps in its order. */
TGT512 static inline __attribute__((always_inline)) __m512 exp16(__m512 x) {
    const __m512 magic = _mm512_set1_ps(12582912.0f), lo = _mm512_set1_ps(-86.0f);
    __m512 c = _mm512_max_ps(x, lo);                       /* x > -86 ? x : -86 */
    c = _mm512_min_ps(c, _mm512_set1_ps(88.0f));           /* c < 88 ? c : 88   */
    __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(c, _mm512_set1_ps(1.44269504088896341f)), magic), magic);
    __m512 r = _mm512_sub_ps(_mm512_sub_ps(c, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f))),
                             _mm512_mul_ps(n, _mm512_set1_ps(-2.12194440e-4f)));
    static const float C[7] = {1.38888889e-3f, 8.33333333e-3f, 4.16666667e-2f, 1.66666667e-1f, 0.5f, 1.0f, 1.0f};
    __m512 p = _mm512_set1_ps(1.98412698e-4f);
    for (int i = 0; i < 7; i++) p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(C[i]));
    __m512i bits = _mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(_mm512_cvttps_epi32(n), 23));
    __m512 v = _mm512_castsi512_ps(bits);
    v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), v, _mm512_setzero_ps());
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), v, x);   /* NaN in, NaN out */
}

TGT512 static inline __mmask16 tail(int j, int n) {
    return n - j >= LANES ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1u);
}

/* softmax_row's steps in its order for R rows of n at stride n, each pass
 * over the R rows in turn: the rows' chains are independent, so the
 * out-of-order core overlaps one row's exp and sums with the others' (a row
 * alone waits on its sum's 16 ordered adds). The scaling and the mask are
 * fused into the pass that finds the lane maxima (each value is the same),
 * the tail in the first lanes as there; every row gets the bytes it gets
 * alone. */
#define RMAX 4
TGT512 static inline __attribute__((always_inline)) void rows512(float *r0, const int R, int n, const int32_t *mask,
                                                                 float div) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY), vd = _mm512_set1_ps(div);
    __m512 ml[RMAX], acc[RMAX], inv[RMAX];
    for (int q = 0; q < R; q++) ml[q] = ninf, acc[q] = _mm512_setzero_ps();
    for (int j = 0; j < n; j += LANES) {
        __mmask16 m = tail(j, n), keep = m;
        if (mask) keep = _mm512_mask_cmpneq_epi32_mask(m, _mm512_maskz_loadu_epi32(m, mask + j), _mm512_setzero_si512());
        for (int q = 0; q < R; q++) {
            float *r = r0 + (size_t)q * n;
            __m512 v = _mm512_maskz_loadu_ps(m, r + j);
            if (div != 0.0f) v = _mm512_div_ps(v, vd);
            if (mask) v = _mm512_mask_blend_ps(keep, ninf, v);
            _mm512_mask_storeu_ps(r + j, m, v);
            ml[q] = _mm512_mask_max_ps(ml[q], m, v, ml[q]);   /* v > ml ? v : ml */
        }
    }
    __m512 vmx[RMAX];
    for (int q = 0; q < R; q++) {
        float lanes[LANES], mx = -INFINITY;
        _mm512_storeu_ps(lanes, ml[q]);
        for (int l = 0; l < LANES; l++) mx = lanes[l] > mx ? lanes[l] : mx;
        vmx[q] = _mm512_set1_ps(mx);
    }
    for (int j = 0; j < n; j += LANES) {
        __mmask16 m = tail(j, n);
        for (int q = 0; q < R; q++) {
            float *r = r0 + (size_t)q * n;
            __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, r + j), vmx[q]));
            _mm512_mask_storeu_ps(r + j, m, e);
            acc[q] = _mm512_mask_add_ps(acc[q], m, acc[q], e);
        }
    }
    for (int q = 0; q < R; q++) {
        float lanes[LANES], sum = 0.0f;
        _mm512_storeu_ps(lanes, acc[q]);
        for (int l = 0; l < LANES; l++) sum += lanes[l];
        inv[q] = _mm512_set1_ps(1.0f / sum);
    }
    for (int j = 0; j < n; j += LANES) {
        __mmask16 m = tail(j, n);
        for (int q = 0; q < R; q++) {
            float *r = r0 + (size_t)q * n;
            _mm512_mask_storeu_ps(r + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, r + j), inv[q]));
        }
    }
}

TGT512 void tq_softmax_row_avx512(float *r, int n, const int32_t *mask, float div) { rows512(r, 1, n, mask, div); }

TGT512 void tq_softmax_rows_avx512(float *r, int rows, int n, const int32_t *mask, float div) {
    int i = 0;
    for (; i + RMAX <= rows; i += RMAX) rows512(r + (size_t)i * n, RMAX, n, mask, div);
    for (; i < rows; i++) rows512(r + (size_t)i * n, 1, n, mask, div);
}
#else
void tq_softmax_row_avx512(float *r, int n, const int32_t *mask, float div) { softmax_row(r, n, mask, div); }
void tq_softmax_rows_avx512(float *r, int rows, int n, const int32_t *mask, float div) {
    for (int i = 0; i < rows; i++) softmax_row(r + (size_t)i * n, n, mask, div);
}
#endif

void tq_softmax_rows(float *r, int rows, int n, const int32_t *mask, float div) {
    if (tq_vec_avx512()) tq_softmax_rows_avx512(r, rows, n, mask, div);
    else
        for (int i = 0; i < rows; i++) softmax_row(r + (size_t)i * n, n, mask, div);
}

void tq_softmax_row(float *r, int n, const int32_t *mask, float div) {
    if (tq_vec_avx512()) tq_softmax_row_avx512(r, n, mask, div);
    else softmax_row(r, n, mask, div);
}
