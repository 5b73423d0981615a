/*
 * kern_avx512.c — AVX-512 VNNI kernels (target attributes; kern.c runs them
 * only where the CPU has AVX-512 F/BW/VL and VNNI).
 *
 * I8: vpdpbusd multiplies unsigned by signed bytes, so activations enter as
 * q + 128 and the product loses 128 * (sum of the row's codes in the group),
 * precomputed when the matrix is packed: the exact int32 sums of the
 * portable path, hence its bytes.
 */
#include "kern/kern_impl.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INL TGT static inline __attribute__((always_inline))
#define MT 8   /* activation rows per tile */

INL int32_t ld32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

INL void i8_tile(const tq_kmat *k, const tq_kact *a, int64_t b, int64_t i0, const int M, float out[][TQ_KROWS]) {
    const int8_t *wp = k->packed + b * k->k4 * 64;
    __m512 f[MT];
    for (int j = 0; j < M; j++) f[j] = _mm512_setzero_ps();
    for (int64_t g = 0; g < k->ngroups; g++) {
        int64_t k0, k1;
        tq_kern_group_k4(k, g, &k0, &k1);
        __m512i s[MT];
        for (int j = 0; j < M; j++) s[j] = _mm512_setzero_si512();
        for (int64_t kk = k0; kk < k1; kk++) {
            __m512i w = _mm512_load_si512((const void *)(wp + kk * 64));
            for (int j = 0; j < M; j++)
                s[j] = _mm512_dpbusd_epi32(s[j], _mm512_set1_epi32(ld32(a->qa + (i0 + j) * a->kpad + 4 * kk)), w);
        }
        const int64_t o = (b * k->ngroups + g) * TQ_KROWS;
        __m512 c = _mm512_loadu_ps(k->pscale + o);
        __m512i off = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(k->psum + o)), 7);
        for (int j = 0; j < M; j++) {
            __m512 d = _mm512_cvtepi32_ps(_mm512_sub_epi32(s[j], off));
            f[j] = _mm512_add_ps(f[j], _mm512_mul_ps(d, _mm512_mul_ps(_mm512_set1_ps(a->d[i0 + j]), c)));
        }
    }
    for (int j = 0; j < M; j++) _mm512_storeu_ps(out[j], f[j]);
}

TGT void tq_kern_i8_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    if (k->ngroups == 1) {   /* one scale per row or tensor: the register-tiled product */
        tq_gemm_i8_avx512(k, a, r0, r1, y, ldy, acc);
        return;
    }
    float out[MT][TQ_KROWS];
    for (int64_t i0 = 0; i0 < a->n; i0 += MT) {
        int M = a->n - i0 < MT ? (int)(a->n - i0) : MT;
        for (int64_t b = r0 / TQ_KROWS; b * TQ_KROWS < r1; b++) {
            switch (M) {
            case 8: i8_tile(k, a, b, i0, 8, out); break;
            case 7: i8_tile(k, a, b, i0, 7, out); break;
            case 6: i8_tile(k, a, b, i0, 6, out); break;
            case 5: i8_tile(k, a, b, i0, 5, out); break;
            case 4: i8_tile(k, a, b, i0, 4, out); break;
            case 3: i8_tile(k, a, b, i0, 3, out); break;
            case 2: i8_tile(k, a, b, i0, 2, out); break;
            default: i8_tile(k, a, b, i0, 1, out); break;
            }
            int64_t lo = b * TQ_KROWS > r0 ? b * TQ_KROWS : r0, hi = (b + 1) * TQ_KROWS < r1 ? (b + 1) * TQ_KROWS : r1;
            for (int j = 0; j < M; j++) {
                float *yr = y + (i0 + j) * ldy;
                for (int64_t r = lo; r < hi; r++) yr[r] = acc ? yr[r] + out[j][r - b * TQ_KROWS] : out[j][r - b * TQ_KROWS];
            }
        }
    }
}
/* ---- ggml Q8_0 / Q4_0 ----------------------------------------------------
 * The AVX2 rows' arithmetic with vpdpbusd: a lane's dpbusd(|q_x|,
 * sign(w, q_x)) is the sum of the same four products that AVX2's
 * madd(maddubs(...), 1) puts in it (no pair reaches 2^15), and two blocks
 * side by side in a 512-bit register are AVX2's two accumulators (even
 * blocks low, odd blocks high), added the same way at the end: the AVX2
 * rows' bytes. Up to GT activation rows share each weight block's load,
 * unpacking and scale, and every (row, activation row) keeps its own
 * accumulator, so a row's bytes do not depend on the batch. */
#define TGQ __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define INQ TGQ static inline __attribute__((always_inline))
#define GT 4

INQ float f16s(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

INQ __m256i q8_codes256(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
INQ __m256i q4_codes256(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p), m = _mm_set1_epi8(15);
    __m256i u = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
    return _mm256_sub_epi8(u, _mm256_set1_epi8(8));
}

INQ float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define GGML512(NAME, BYTES, CODES)                                                                              \
    INQ void NAME##_tile(const uint8_t *w, int64_t nb, const tq_kact *a, int64_t i0, const int M, float *out) {  \
        __m512 s[GT];                                                                                           \
        for (int j = 0; j < M; j++) s[j] = _mm512_setzero_ps();                                                 \
        int64_t b = 0;                                                                                          \
        for (; b + 1 < nb; b += 2) {                                                                            \
            const uint8_t *p0 = w + b * BYTES, *p1 = p0 + BYTES;                                                \
            __m512i wv = _mm512_inserti64x4(_mm512_castsi256_si512(CODES(p0 + 2)), CODES(p1 + 2), 1);           \
            float d0 = f16s(p0), d1 = f16s(p1);                                                                 \
            for (int j = 0; j < M; j++) {                                                                       \
                const int64_t o = (i0 + j) * a->kpad + b * 32;                                                  \
                const float *dx = a->d + (i0 + j) * a->nb;                                                      \
                __m512i xq = _mm512_load_si512((const void *)(a->q + o));                                      \
                __m512i xa = _mm512_load_si512((const void *)(a->qa + o));                                     \
                __m512i sw = _mm512_inserti64x4(                                                                \
                    _mm512_castsi256_si512(_mm256_sign_epi8(_mm512_castsi512_si256(wv), _mm512_castsi512_si256(xq))), \
                    _mm256_sign_epi8(_mm512_extracti64x4_epi64(wv, 1), _mm512_extracti64x4_epi64(xq, 1)), 1);   \
                __m512 p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), xa, sw));             \
                __m512 sc = _mm512_castpd_ps(_mm512_insertf64x4(                                                \
                    _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_set1_ps(d0 * dx[b]))),                        \
                    _mm256_castps_pd(_mm256_set1_ps(d1 * dx[b + 1])), 1));                                      \
                s[j] = _mm512_fmadd_ps(p, sc, s[j]);                                                            \
            }                                                                                                   \
        }                                                                                                       \
        if (b < nb) {                                                                                           \
            const uint8_t *p0 = w + b * BYTES;                                                                  \
            __m256i wv = CODES(p0 + 2);                                                                         \
            float d0 = f16s(p0);                                                                                \
            for (int j = 0; j < M; j++) {                                                                       \
                const int64_t o = (i0 + j) * a->kpad + b * 32;                                                  \
                const float *dx = a->d + (i0 + j) * a->nb;                                                      \
                __m256i xq = _mm256_load_si256((const __m256i *)(a->q + o));                                   \
                __m256i xa = _mm256_load_si256((const __m256i *)(a->qa + o));                                  \
                __m256 p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), xa, _mm256_sign_epi8(wv, xq))); \
                __m256 lo = _mm256_fmadd_ps(p, _mm256_set1_ps(d0 * dx[b]), _mm512_castps512_ps256(s[j]));        \
                s[j] = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(s[j]), _mm256_castps_pd(lo), 0));    \
            }                                                                                                   \
        }                                                                                                       \
        for (int j = 0; j < M; j++)                                                                             \
            out[j] = hsum256(_mm256_add_ps(_mm512_castps512_ps256(s[j]),                                        \
                                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s[j]), 1)))); \
    }                                                                                                           \
    TGQ void NAME(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {   \
        int64_t nb = k->cols / 32;                                                                              \
        float out[GT];                                                                                          \
        for (int64_t r = r0; r < r1; r++) {                                                                     \
            const uint8_t *w = k->codes + r * k->row_bytes;                                                     \
            for (int64_t i0 = 0; i0 < a->n; i0 += GT) {                                                         \
                int M = a->n - i0 < GT ? (int)(a->n - i0) : GT;                                                 \
                switch (M) {                                                                                    \
                case 4: NAME##_tile(w, nb, a, i0, 4, out); break;                                               \
                case 3: NAME##_tile(w, nb, a, i0, 3, out); break;                                               \
                case 2: NAME##_tile(w, nb, a, i0, 2, out); break;                                               \
                default: NAME##_tile(w, nb, a, i0, 1, out); break;                                              \
                }                                                                                               \
                for (int j = 0; j < M; j++) {                                                                   \
                    float *yr = y + (i0 + j) * ldy + r;                                                         \
                    *yr = acc ? *yr + out[j] : out[j];                                                          \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

GGML512(tq_kern_q8_0_avx512, 34, q8_codes256)
GGML512(tq_kern_q4_0_avx512, 18, q4_codes256)
#endif
