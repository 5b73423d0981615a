/*
 * gemm_f32_avx2.c — the AVX2 + FMA form of the float32 product over weights
 * packed once (kern.h: tq_gemm_f32; gemm_f32_avx512.c packs and dispatches),
 * for CPUs without AVX-512.
 *
 * A micro-kernel holds 6 tokens x one packed block of 16 outputs in 12
 * accumulators (two 8-lane halves per token): per column two weight vectors,
 * six broadcasts, twelve FMAs. Each output is, as in the AVX-512 kernel, one
 * chain of FMAs over k = 0 .. K-1 in order, then added to y once: FMA rounds
 * once whatever the vector width, so these are the AVX-512 kernel's bytes,
 * for any tiling and thread count.
 */
#include "kern/kern_impl.h"
#include "kern/gemm_f32.h"
#include <stddef.h>
#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))
#define INL TGT static inline __attribute__((always_inline))
#define MR 6

INL void mk(const float *w, int64_t K, const float *x, int64_t ldx, const int M, float *y, int64_t ldy, const float *bias,
            int acc) {
    __m256 s[MR][2];
    for (int j = 0; j < MR; j++) s[j][0] = s[j][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m256 w0 = _mm256_loadu_ps(w + k * 16), w1 = _mm256_loadu_ps(w + k * 16 + 8);
        for (int j = 0; j < MR; j++)
            if (M > j) {
                __m256 v = _mm256_broadcast_ss(x + j * ldx + k);
                s[j][0] = _mm256_fmadd_ps(v, w0, s[j][0]);
                s[j][1] = _mm256_fmadd_ps(v, w1, s[j][1]);
            }
    }
    /* y + S, (y + bias) + S or bias + S (gemm_f32.h) */
    __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps(), b1 = bias ? _mm256_loadu_ps(bias + 8) : b0;
    for (int j = 0; j < M; j++) {
        float *yr = y + j * ldy;
        __m256 v0 = !bias ? _mm256_loadu_ps(yr) : acc ? _mm256_add_ps(_mm256_loadu_ps(yr), b0) : b0;
        __m256 v1 = !bias ? _mm256_loadu_ps(yr + 8) : acc ? _mm256_add_ps(_mm256_loadu_ps(yr + 8), b1) : b1;
        _mm256_storeu_ps(yr, _mm256_add_ps(v0, s[j][0]));
        _mm256_storeu_ps(yr + 8, _mm256_add_ps(v1, s[j][1]));
    }
}

/* Tokens in blocks of MR against each 16-output block of [r0, r1). */
TGT void tq_gemm_f32_avx2_bias(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0,
                               int64_t r1, float *y, int64_t ldy, const float *bias, int acc) {
    for (int64_t i = 0; i < n; i += MR) {
        int64_t m = n - i < MR ? n - i : MR;
        for (int64_t b = r0 / 16; b < r1 / 16; b++) {
            const float *w = wp + b * K * 16;
            float *yb = y + i * ldy + b * 16;
            const float *xi = x + i * ldx, *bb = bias ? bias + b * 16 : NULL;
            switch (m) {
            case 6: mk(w, K, xi, ldx, 6, yb, ldy, bb, acc); break;
            case 5: mk(w, K, xi, ldx, 5, yb, ldy, bb, acc); break;
            case 4: mk(w, K, xi, ldx, 4, yb, ldy, bb, acc); break;
            case 3: mk(w, K, xi, ldx, 3, yb, ldy, bb, acc); break;
            case 2: mk(w, K, xi, ldx, 2, yb, ldy, bb, acc); break;
            default: mk(w, K, xi, ldx, 1, yb, ldy, bb, acc); break;
            }
        }
    }
}

TGT void tq_gemm_f32_avx2(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1,
                          float *y, int64_t ldy) {
    tq_gemm_f32_avx2_bias(wp, K, x, ldx, n, r0, r1, y, ldy, NULL, 1);
}
#endif
