/*
 * gemm_i8_avx2.c — the I8 matrix x matrix product (many activation rows:
 * encoders, prompts) by AVX2, for matrices with one scale per row or per
 * tensor (one group along a row), and the AVX2 activation quantizer. The
 * kernel table's AVX2 I8 row (kern.c) runs tq_gemm_i8_avx2_row: this file's
 * product for one group, kern_avx2.c's per-tile kernel for grouped scales.
 *
 * Products: maddubs with the sign trick (|x| unsigned times w carrying x's
 * sign: no pair of products reaches 2^15), madd by ones into int32 lanes.
 * Without VNNI that is four vector operations per 32 multiply-adds; the
 * sign step is the price of exact 8-bit activations (docs/kernels.md).
 *
 * Register tiling: a micro-kernel holds MR = 4 activation rows x one packed
 * 16-row block (kern_types.h) in 8 int32 accumulators; each step of 4
 * columns loads two weight vectors and broadcasts two words per token, so
 * each weight byte loaded serves four tokens. No float accumulator is kept
 * across the columns (one group), and the float steps are the portable
 * path's, in its order:
 *   y = (acc ? y + : ) (0 + (float)S * (d_x * s_w)),
 * so the bytes are the portable path's for any split and thread count.
 */
#include "kern/kern_impl.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TGT __attribute__((target("avx2,fma,f16c")))
#define INL TGT static inline __attribute__((always_inline))
#define MR 4

/* Lanes [l0, l1) of 8 floats v onto y (y[l] = acc ? y[l] + v[l] : v[l]). */
INL void put8(float *y, __m256 v, int l0, int l1, int acc) {
    if (l0 == 0 && l1 == 8) {
        if (acc) v = _mm256_add_ps(_mm256_loadu_ps(y), v);
        _mm256_storeu_ps(y, v);
        return;
    }
    float t[8];
    _mm256_storeu_ps(t, v);
    for (int l = l0; l < l1; l++) y[l] = acc ? y[l] + t[l] : t[l];
}

/* Rows i0 .. i0 + M of the activations against block b; the outputs of
 * rows [lo, hi) written to y. */
INL void mk(const tq_kmat *k, const tq_kact *a, int64_t i0, int64_t b, const int M, int64_t lo, int64_t hi, float *y,
            int64_t ldy, int acc) {
    const int64_t k4 = k->k4, kp = a->kpad;
    const int8_t *wp = k->packed + b * k4 * 64;
    const int8_t *xq = a->q + i0 * kp;
    const uint8_t *xa = a->qa + i0 * kp;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    for (int64_t kk = 0; kk < k4; kk++) {
        __m256i w0 = _mm256_load_si256((const __m256i *)(const void *)(wp + kk * 64));
        __m256i w1 = _mm256_load_si256((const __m256i *)(const void *)(wp + kk * 64 + 32));
#define ROW(j, sa, sb)                                                                                                 \
    if (M > j) {                                                                                                       \
        __m256i xb = _mm256_set1_epi32(tq_kern_ld32(xq + j * kp + 4 * kk));                                            \
        __m256i xu = _mm256_set1_epi32(tq_kern_ld32(xa + j * kp + 4 * kk));                                            \
        sa = _mm256_add_epi32(sa, _mm256_madd_epi16(_mm256_maddubs_epi16(xu, _mm256_sign_epi8(w0, xb)), ones));         \
        sb = _mm256_add_epi32(sb, _mm256_madd_epi16(_mm256_maddubs_epi16(xu, _mm256_sign_epi8(w1, xb)), ones));         \
    }
        ROW(0, s00, s01)
        ROW(1, s10, s11)
        ROW(2, s20, s21)
        ROW(3, s30, s31)
#undef ROW
    }
    const __m256i S[MR][2] = {{s00, s01}, {s10, s11}, {s20, s21}, {s30, s31}};
    const int64_t base = b * TQ_KROWS;   /* one group: scales [block][KROWS] */
    const __m256 c0 = _mm256_loadu_ps(k->pscale + base), c1 = _mm256_loadu_ps(k->pscale + base + 8);
    int l0 = lo > base ? (int)(lo - base) : 0, l1 = hi - base < TQ_KROWS ? (int)(hi - base) : TQ_KROWS;
    for (int j = 0; j < M; j++) {
        __m256 dx = _mm256_set1_ps(a->d[i0 + j]);
        __m256 v0 = _mm256_add_ps(_mm256_setzero_ps(), _mm256_mul_ps(_mm256_cvtepi32_ps(S[j][0]), _mm256_mul_ps(dx, c0)));
        __m256 v1 = _mm256_add_ps(_mm256_setzero_ps(), _mm256_mul_ps(_mm256_cvtepi32_ps(S[j][1]), _mm256_mul_ps(dx, c1)));
        float *yr = y + (i0 + j) * ldy + base;
        if (l0 < 8) put8(yr, v0, l0, l1 < 8 ? l1 : 8, acc);
        if (l1 > 8) put8(yr + 8, v1, l0 > 8 ? l0 - 8 : 0, l1 - 8, acc);
    }
}

/* Tokens in blocks of MR (their activations in L1) against every 16-row
 * block of [r0, r1) (the range's packed rows stay in L2). */
TGT static void gemm(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    const int64_t bfirst = r0 / TQ_KROWS, bend = (r1 + TQ_KROWS - 1) / TQ_KROWS;
    for (int64_t i = 0; i < a->n; i += MR) {
        int64_t m = a->n - i < MR ? a->n - i : MR;
        for (int64_t b = bfirst; b < bend; b++) {
            switch (m) {
            case 4: mk(k, a, i, b, 4, r0, r1, y, ldy, acc); break;
            case 3: mk(k, a, i, b, 3, r0, r1, y, ldy, acc); break;
            case 2: mk(k, a, i, b, 2, r0, r1, y, ldy, acc); break;
            default: mk(k, a, i, b, 1, r0, r1, y, ldy, acc); break;
            }
        }
    }
}

void tq_gemm_i8_avx2_row(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    if (k->ngroups == 1) gemm(k, a, r0, r1, y, ldy, acc);
    else tq_kern_i8_avx2(k, a, r0, r1, y, ldy, acc);
}

/* 32 floats (scaled, rounded, clamped: integral in [-127, 127]) into 32
 * int8 in order. */
INL __m256i pack32(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256i ab = _mm256_packs_epi32(_mm256_cvtps_epi32(a), _mm256_cvtps_epi32(b));
    __m256i cd = _mm256_packs_epi32(_mm256_cvtps_epi32(c), _mm256_cvtps_epi32(d));
    return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* v = rne(x * inv) by adding and taking away 1.5 * 2^23, clamped to
 * [-127, 127], NaN to 0: kern.c's quantize_row step for step. */
INL __m256 code8(__m256 x, __m256 vi) {
    const __m256 mg = _mm256_set1_ps(12582912.0f), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    __m256 v = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(x, vi), mg), mg);
    __m256 ord = _mm256_cmp_ps(v, v, _CMP_ORD_Q);
    return _mm256_and_ps(ord, _mm256_max_ps(_mm256_min_ps(v, hi), lo));
}

/* One activation row into int8 codes with one scale for the row: kern.c's
 * quantize_row (ACT_ROW) in 8 lanes, so the same codes and scale: max of |x|
 * as integer bits, d = max / 127, q = code8; qa is q + 128 (offset) or |q|;
 * columns [cols, kpad) zero (qa 128 or 0). kpad is a multiple of 32. */
TGT void tq_kern_quant_row_avx2(const float *x, int64_t cols, int64_t kpad, int8_t *q, uint8_t *qa, float *d,
                                int offset) {
    const __m256i absm = _mm256_set1_epi32(0x7fffffff);
    __m256i mb = _mm256_setzero_si256();
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8)
        mb = _mm256_max_epu32(mb, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(const void *)(x + c)), absm));
    uint32_t lanes[8], bits = 0;
    _mm256_storeu_si256((__m256i *)(void *)lanes, mb);
    for (int l = 0; l < 8; l++) bits = lanes[l] > bits ? lanes[l] : bits;
    for (; c < cols; c++) {
        uint32_t u;
        memcpy(&u, x + c, 4);
        u &= 0x7fffffffu;
        bits = u > bits ? u : bits;
    }
    float amax;
    memcpy(&amax, &bits, 4);
    float s = amax / 127.0f, inv = s > 0.0f ? 1.0f / s : 0.0f;
    *d = s;
    const __m256 vi = _mm256_set1_ps(inv);
    const __m256i flip = _mm256_set1_epi8(offset ? (char)0x80 : 0);
    for (c = 0; c < kpad; c += 32) {
        __m256 v[4];
        if (c + 32 <= cols) {
            for (int p = 0; p < 4; p++) v[p] = code8(_mm256_loadu_ps(x + c + 8 * p), vi);
        } else {   /* the last columns, zero padded */
            float t[32] = {0};
            if (c < cols) memcpy(t, x + c, sizeof(float) * (size_t)(cols - c));
            for (int p = 0; p < 4; p++) v[p] = code8(_mm256_loadu_ps(t + 8 * p), vi);
        }
        __m256i b = pack32(v[0], v[1], v[2], v[3]);
        _mm256_storeu_si256((__m256i *)(void *)(q + c), b);
        _mm256_storeu_si256((__m256i *)(void *)(qa + c), offset ? _mm256_xor_si256(b, flip) : _mm256_abs_epi8(b));
    }
}
#endif
