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
#endif
