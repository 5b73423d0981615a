/*
 * gemm_f32_avx512.c — float32 matrix x matrix over weights packed once
 * (kern.h: tq_gemm_f32_*), for the encoder's float32 projections.
 *
 * OpenBLAS packs both operands on every call; an encoder multiplies the same
 * weights for every batch, so they are packed once, at load, in place:
 * [N / 16][K][16] (16 output rows side by side per column), and the
 * activations are read as they are (one broadcast per token and column).
 * A micro-kernel holds 8 tokens x 48 outputs in 24 accumulators (enough
 * independent chains for two FMA ports at 4 cycles' latency): per column
 * three weight vectors, eight broadcasts, 24 FMAs; tokens in blocks of IB
 * against each 48-row weight panel. The panel's columns go in K-blocks of kb
 * (tq_gemm_f32_kblock(): 128 on Intel, where a 128 x 48 slice, 24 KB, stays
 * in L1 for the block's 8 micro-kernels and measured faster; the whole K on
 * AMD Zen, where the blocked form measured 3-9% slower, f32k): between
 * K-blocks the running sums wait in a 64 x 48 scratch tile, stored and
 * reloaded as the exact floats they are. Each micro-kernel fetches the y
 * lines of its last step (write intent) before its columns run (f32k2).
 * Each output is one chain of FMAs
 * over k = 0 .. K-1 in order, then added to y once, so its bytes depend on
 * neither the tiling, the K-block nor the thread count (they differ from
 * OpenBLAS's by float rounding: TRUEQ_ISA=decode keeps OpenBLAS). Without
 * AVX-512, gemm_f32_avx2.c's kernel gives the same bytes.
 */
#include "kern/kern.h"
#include "kern/kern_impl.h"
#include "kern/gemm_f32.h"
#include <stdlib.h>
#include <string.h>

int tq_gemm_f32_pack(float *w, int64_t rows, int64_t cols) {
    if (rows % 16 || rows < 1 || cols < 1) return -1;
    float *tmp = malloc(sizeof(float) * (size_t)(rows * cols));
    if (!tmp) return -1;
    memcpy(tmp, w, sizeof(float) * (size_t)(rows * cols));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) w[(r / 16 * cols + c) * 16 + r % 16] = tmp[r * cols + c];
    free(tmp);
    return 0;
}

int tq_gemm_f32_unpack(float *w, int64_t rows, int64_t cols) {
    if (rows % 16 || rows < 1 || cols < 1) return -1;
    float *tmp = malloc(sizeof(float) * (size_t)(rows * cols));
    if (!tmp) return -1;
    memcpy(tmp, w, sizeof(float) * (size_t)(rows * cols));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) w[r * cols + c] = tmp[(r / 16 * cols + c) * 16 + r % 16];
    free(tmp);
    return 0;
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,fma")))
#define INL TGT static inline __attribute__((always_inline))
#define MR 8
#define NBMAX 3
#define IB 64
#define KB_INTEL 128
#define TLD (NBMAX * 16)

/* M tokens x NB packed blocks of 16 outputs in M * NB accumulators (at most
 * 24 of the 32 zmm) over the columns [k0, k1): per column NB weight vectors,
 * M broadcasts, M * NB FMAs. The chains start from 0 (k0 == 0) or from the
 * running sums left in t (TLD floats a token) by the previous K-block, and
 * go back to t (k1 < K) or, after the last column, into y through the bias
 * step: each accumulator one FMA chain over k = 0 .. K-1 in order, stored and
 * reloaded between K-blocks as the exact floats it holds. */
INL void mk(const float *wp, int64_t K, int64_t k0, int64_t k1, const float *x, int64_t ldx, int64_t b0, const int M,
            const int NB, float *t, float *y, int64_t ldy, const float *bias, int acc) {
    const float *w = wp + b0 * K * 16;
    const int64_t bs = K * 16;
    __m512 S[MR][NBMAX];
#pragma GCC unroll 8
    for (int j = 0; j < MR; j++)
#pragma GCC unroll 3
        for (int p = 0; p < NBMAX; p++)
            S[j][p] = k0 > 0 && j < M && p < NB ? _mm512_load_ps(t + j * TLD + p * 16) : _mm512_setzero_ps();
    /* the M x NB lines of y the last step writes, fetched (for writing) while
     * the columns run: at 8 x 128 tokens and more y is past L2, and the
     * misses of the 24 stores (and, with acc, loads) landed at once at the
     * end measured 3-5% of the product at K = 384-1536 (f32k2) */
    if (k1 == K)
        for (int j = 0; j < M; j++)
            for (int p = 0; p < NB; p++) _mm_prefetch((const char *)(y + j * ldy + (b0 + p) * 16), _MM_HINT_ET0);
    for (int64_t k = k0; k < k1; k++) {
        const float *wk = w + k * 16;
        __m512 wv[NBMAX];
#pragma GCC unroll 3
        for (int p = 0; p < NBMAX; p++) wv[p] = p < NB ? _mm512_loadu_ps(wk + p * bs) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int j = 0; j < MR; j++)
            if (j < M) {
                __m512 v = _mm512_set1_ps(x[j * ldx + k]);
#pragma GCC unroll 3
                for (int p = 0; p < NBMAX; p++)
                    if (p < NB) S[j][p] = _mm512_fmadd_ps(v, wv[p], S[j][p]);
            }
    }
    if (k1 < K) {
        for (int j = 0; j < M; j++)
            for (int p = 0; p < NB; p++) _mm512_store_ps(t + j * TLD + p * 16, S[j][p]);
        return;
    }
    for (int p = 0; p < NB; p++) {
        __m512 bv = bias ? _mm512_loadu_ps(bias + (b0 + p) * 16) : _mm512_setzero_ps();
        for (int j = 0; j < M; j++) {
            float *yr = y + j * ldy + (b0 + p) * 16;
            __m512 v = !bias ? _mm512_loadu_ps(yr) : acc ? _mm512_add_ps(_mm512_loadu_ps(yr), bv) : bv;
            _mm512_storeu_ps(yr, _mm512_add_ps(v, S[j][p]));
        }
    }
}

#define NBCASE(M, nb)                                                                                                  \
    switch (nb) {                                                                                                      \
    case 3: mk(wp, K, k0, k1, x + i * ldx, ldx, b0, M, 3, t + (i - ib) * TLD, y + i * ldy, ldy, bias, acc); break;    \
    case 2: mk(wp, K, k0, k1, x + i * ldx, ldx, b0, M, 2, t + (i - ib) * TLD, y + i * ldy, ldy, bias, acc); break;    \
    default: mk(wp, K, k0, k1, x + i * ldx, ldx, b0, M, 1, t + (i - ib) * TLD, y + i * ldy, ldy, bias, acc); break;   \
    }

/* Tokens in blocks of IB against each 48-row panel, the panel's columns in
 * K-blocks of kb (< 1: all K at once), the running sums of the block's
 * IB x 48 outputs in t between K-blocks. */
TGT static void gemm(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1,
                     float *y, int64_t ldy, const float *bias, int acc, int64_t kb) {
    const int64_t bfirst = r0 / 16, bend = r1 / 16, KB = kb < 1 || kb > K ? K : kb;
    float t[IB * TLD] __attribute__((aligned(64)));
    for (int64_t ib = 0; ib < n; ib += IB) {
        int64_t ie = ib + IB < n ? ib + IB : n;
        for (int64_t b0 = bfirst; b0 < bend; b0 += NBMAX) {
            int nb = bend - b0 < NBMAX ? (int)(bend - b0) : NBMAX;
            for (int64_t k0 = 0; k0 < K; k0 += KB) {
                int64_t k1 = k0 + KB < K ? k0 + KB : K;
                int64_t i = ib;
                for (; i + MR <= ie; i += MR) NBCASE(8, nb)
                switch (ie - i) {
                case 7: NBCASE(7, nb) break;
                case 6: NBCASE(6, nb) break;
                case 5: NBCASE(5, nb) break;
                case 4: NBCASE(4, nb) break;
                case 3: NBCASE(3, nb) break;
                case 2: NBCASE(2, nb) break;
                case 1: NBCASE(1, nb) break;
                default: break;
                }
            }
        }
    }
}

static int has512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

int64_t tq_gemm_f32_kblock(void) {
    __builtin_cpu_init();
    return __builtin_cpu_is("amd") ? 0 : KB_INTEL;
}

void tq_gemm_f32_avx512_kb_bias(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0,
                                int64_t r1, float *y, int64_t ldy, const float *bias, int acc, int64_t kb) {
    gemm(wp, K, x, ldx, n, r0, r1, y, ldy, bias, acc, kb);
}

int tq_gemm_f32_supported(void) {
    return has512() || (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
}

void tq_gemm_f32_bias(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1,
                      float *y, int64_t ldy, const float *bias, int acc) {
    if (has512()) gemm(wp, K, x, ldx, n, r0, r1, y, ldy, bias, acc, tq_gemm_f32_kblock());
    else tq_gemm_f32_avx2_bias(wp, K, x, ldx, n, r0, r1, y, ldy, bias, acc);
}

void tq_gemm_f32(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1, float *y,
                 int64_t ldy) {
    tq_gemm_f32_bias(wp, K, x, ldx, n, r0, r1, y, ldy, NULL, 1);
}
#else
int tq_gemm_f32_supported(void) { return 0; }
int64_t tq_gemm_f32_kblock(void) { return 0; }
void tq_gemm_f32_avx512_kb_bias(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0,
                                int64_t r1, float *y, int64_t ldy, const float *bias, int acc, int64_t kb) {
    (void)wp; (void)K; (void)x; (void)ldx; (void)n; (void)r0; (void)r1; (void)y; (void)ldy; (void)bias; (void)acc; (void)kb;
}
void tq_gemm_f32_bias(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1,
                      float *y, int64_t ldy, const float *bias, int acc) {
    (void)wp; (void)K; (void)x; (void)ldx; (void)n; (void)r0; (void)r1; (void)y; (void)ldy; (void)bias; (void)acc;
}
void tq_gemm_f32(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1, float *y,
                 int64_t ldy) {
    (void)wp; (void)K; (void)x; (void)ldx; (void)n; (void)r0; (void)r1; (void)y; (void)ldy;
}
#endif
