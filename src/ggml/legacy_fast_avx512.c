/*
 * legacy_fast_avx512.c — the Q8_0 encoder in explicit AVX-512F, 16 blocks
 * (512 floats) an iteration, writing the bytes of legacy.c's reference
 * (ggml's quantize_row_q8_0_ref). legacy_fast.c's vector-extension loop
 * stays the reference it is tested against (test_ggml_legacy_fast); it also
 * encodes the blocks past the last multiple of 16, and everything on a CPU
 * without AVX-512F.
 *
 * Why each step is exact:
 *  - |x| by clearing the sign bit; m = max(|x|, m) with vmaxps returns its
 *    second operand when one is NaN, so NaN is skipped as the reference's
 *    `fabsf(x) > amax` skips it. Every value met is then a non-NaN, non
 *    negative-zero float, so the maximum is the same in any order: the 16
 *    blocks' 32 lanes are reduced by a shuffle tree (transposing as it goes)
 *    into one vector holding block b's amax in lane b.
 *  - d = amax / 127 and id = 1 / d (0 when d == 0) by vdivps, IEEE-exact as
 *    the scalar division.
 *  - fp16(d) by vcvtps2ph with round to nearest even. d is never NaN (amax
 *    is not), and for every non-NaN float vcvtps2ph gives tq_ggml_fp16's
 *    bits (subnormal results, overflow to Inf, -0): the test compares the
 *    two over a sweep of all float bit patterns (tq_ggml_fp16_avx512).
 *  - the codes as legacy_fast.c: v = x * id, NaN -> 0, clamp to [-127, 127],
 *    t = trunc(v), r = v - t (exact), roundf(v) = t + (r >= .5) - (r <= -.5)
 *    (ties away from zero); vpmovdb narrows the int32 lanes to bytes.
 */
#include "ggml/ggml_kernels.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define TQ_AVX512 __attribute__((target("avx512f")))
#define NBLK 16 /* blocks an iteration: one zmm of amax / d / id */

static int have_avx512(void) {
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return have;
}

/* Lane b: max |x| over block b of the 16 at x (NaN skipped, +0 when none). */
TQ_AVX512 static __m512 amax16(const float *x) {
    const __m512i mag = _mm512_set1_epi32(0x7fffffff);
    __m512 m[NBLK];
    for (int b = 0; b < NBLK; b++) {
        __m512 a0 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(x + 32 * b), mag));
        __m512 a1 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(x + 32 * b + 16), mag));
        m[b] = _mm512_max_ps(a0, _mm512_max_ps(a1, _mm512_setzero_ps()));
    }
    /* 16 -> 8: block 2k in the low 256 bits of m[k], block 2k+1 in the high. */
    for (int k = 0; k < 8; k++) {
        __m512 lo = _mm512_shuffle_f32x4(m[2 * k], m[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0));
        __m512 hi = _mm512_shuffle_f32x4(m[2 * k], m[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2));
        m[k] = _mm512_max_ps(lo, hi);
    }
    /* 8 -> 4: 128-bit lane j of m[k] holds block 4k + j. */
    for (int k = 0; k < 4; k++) {
        __m512 lo = _mm512_shuffle_f32x4(m[2 * k], m[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 hi = _mm512_shuffle_f32x4(m[2 * k], m[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1));
        m[k] = _mm512_max_ps(lo, hi);
    }
    /* 4 -> 2: in 128-bit lane j, m[k] holds block 8k + j (elements 0, 1)
     * and block 8k + 4 + j (elements 2, 3). */
    for (int k = 0; k < 2; k++) {
        __m512 lo = _mm512_shuffle_ps(m[2 * k], m[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0));
        __m512 hi = _mm512_shuffle_ps(m[2 * k], m[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2));
        m[k] = _mm512_max_ps(lo, hi);
    }
    /* 2 -> 1: element e of 128-bit lane j holds block 4e + j; transpose. */
    __m512 lo = _mm512_shuffle_ps(m[0], m[1], _MM_SHUFFLE(2, 0, 2, 0));
    __m512 hi = _mm512_shuffle_ps(m[0], m[1], _MM_SHUFFLE(3, 1, 3, 1));
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    return _mm512_permutexvar_ps(order, _mm512_max_ps(lo, hi));
}

/* 16 codes roundf(clamp(x * id)) (NaN -> 0) into q. */
TQ_AVX512 static inline void codes16(const float *x, __m512 id, uint8_t *q) {
    const __m512 hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
    const __m512 half = _mm512_set1_ps(0.5f), mhalf = _mm512_set1_ps(-0.5f);
    const __m512i one = _mm512_set1_epi32(1);
    __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x), id);
    v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
    v = _mm512_max_ps(_mm512_min_ps(v, hi), lo);
    __m512i t = _mm512_cvttps_epi32(v);
    __m512 r = _mm512_sub_ps(v, _mm512_cvtepi32_ps(t));
    t = _mm512_mask_add_epi32(t, _mm512_cmp_ps_mask(r, half, _CMP_GE_OQ), t, one);
    t = _mm512_mask_sub_epi32(t, _mm512_cmp_ps_mask(r, mhalf, _CMP_LE_OQ), t, one);
    _mm_storeu_si128((__m128i *)(void *)q, _mm512_cvtepi32_epi8(t));
}

TQ_AVX512 static int64_t q8_0_avx512(const float *x, uint8_t *p, int64_t nb) {
    int64_t i = 0;
    for (; i + NBLK <= nb; i += NBLK, x += 32 * NBLK, p += 34 * NBLK) {
        __m512 d = _mm512_div_ps(amax16(x), _mm512_set1_ps(127.0f));
        __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_OQ),
                                        _mm512_set1_ps(1.0f), d);
        uint16_t h[NBLK];
        float ids[NBLK];
        _mm256_storeu_si256((__m256i *)(void *)h, _mm512_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        _mm512_storeu_ps(ids, id);
        for (int b = 0; b < NBLK; b++) {
            uint8_t *q = p + 34 * b;
            __m512 ib = _mm512_set1_ps(ids[b]);
            tq_st16(q, h[b]);
            codes16(x + 32 * b, ib, q + 2);
            codes16(x + 32 * b + 16, ib, q + 18);
        }
    }
    return i;
}

TQ_AVX512 static void fp16_avx512(const float *f, uint16_t *h, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(void *)(h + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) h[i] = tq_ggml_fp16(f[i]);
}

int64_t tq_ggml_fast_q8_0_avx512(const float *x, void *b, int64_t nb) {
    return have_avx512() ? q8_0_avx512(x, b, nb) : 0;
}

int tq_ggml_fp16_avx512(const float *f, uint16_t *h, int64_t n) {
    if (!have_avx512()) return 0;
    fp16_avx512(f, h, n);
    return 1;
}

#else

int64_t tq_ggml_fast_q8_0_avx512(const float *x, void *b, int64_t nb) {
    (void)x, (void)b, (void)nb;
    return 0;
}

int tq_ggml_fp16_avx512(const float *f, uint16_t *h, int64_t n) {
    (void)f, (void)h, (void)n;
    return 0;
}

#endif
