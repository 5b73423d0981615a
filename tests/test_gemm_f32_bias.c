/*
 * test_gemm_f32_bias.c — the float32 product over packed weights with the
 * bias folded into its last step (src/kern/gemm_f32.h), which the encoder's
 * float32 projections run instead of writing (or adding) the bias over the
 * tile first:
 *  - acc 0 gives the bytes of bias written into y and then tq_gemm_f32;
 *  - acc 1 the bytes of y + bias first and then tq_gemm_f32;
 *  - bias NULL is tq_gemm_f32 itself;
 *  - the AVX2 kernel's bias form the same bytes as the dispatched one (the
 *    AVX-512 kernel where the CPU has it), for odd token counts and row
 *    ranges starting past 0 (the bias is indexed by the absolute row);
 *  - each kernel's bytes are a scalar reference's, bit for bit: per output
 *    one fmaf chain over k = 0 .. K-1 in order from 0, then y + chain, for
 *    token counts and K that are no multiple of the tiles, and K around
 *    and past the AVX-512 kernel's K-block;
 *  - the AVX-512 kernel with every K-block it may run (all K at once, as on
 *    AMD; 128, as on Intel) and odd ones (1, 37, 160), bias or none, holds
 *    the same bytes (tq_gemm_f32_avx512_kb_bias).
 */
#include "tq_test.h"
#include "kern/kern.h"
#include "kern/gemm_f32.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the CPU runs the AVX-512 kernel (avx512 1) or the AVX2 one (0) */
static int has_isa(int avx512) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("fma") &&
           (avx512 ? __builtin_cpu_supports("avx512f") : __builtin_cpu_supports("avx2"));
#else
    (void)avx512;
    return 0;
#endif
}
#define has_avx2() has_isa(0)
#define has_avx512() has_isa(1)

/* the K-blocks the AVX-512 kernel is held to: all K at once (AMD's), 128
 * (Intel's), one column, and an odd length past 128 */
static const int64_t kblocks[] = {0, 128, 1, 37, 160};

static void check(int64_t rows, int64_t cols, int64_t n, int64_t r0, int64_t r1, uint64_t *rng) {
    size_t nw = (size_t)(rows * cols), ny = (size_t)(n * rows);
    float *wp = malloc(sizeof(float) * nw), *x = malloc(sizeof(float) * (size_t)(n * cols)), *b = malloc(sizeof(float) * (size_t)rows);
    float *y0 = malloc(sizeof(float) * ny), *ref = malloc(sizeof(float) * ny), *y = malloc(sizeof(float) * ny);
    for (size_t i = 0; i < nw; i++) wp[i] = tq_t_randn(rng);
    for (int64_t i = 0; i < n * cols; i++) x[i] = tq_t_randn(rng) * 2.0f;
    for (int64_t r = 0; r < rows; r++) b[r] = tq_t_randn(rng) * 3.0f;
    for (size_t i = 0; i < ny; i++) y0[i] = tq_t_randn(rng) * 5.0f;
    CHECK(tq_gemm_f32_pack(wp, rows, cols) == 0);
    for (int acc = 0; acc < 2; acc++) {
        /* the reference: the bias first (written or added), then the product onto it */
        memcpy(ref, y0, sizeof(float) * ny);
        for (int64_t i = 0; i < n; i++)
            for (int64_t r = r0; r < r1; r++) ref[i * rows + r] = acc ? ref[i * rows + r] + b[r] : b[r];
        tq_gemm_f32(wp, cols, x, cols, n, r0, r1, ref, rows);
        memcpy(y, y0, sizeof(float) * ny);
        tq_gemm_f32_bias(wp, cols, x, cols, n, r0, r1, y, rows, b, acc);
        CHECK_MSG(!memcmp(y, ref, sizeof(float) * ny), "%lldx%lld n %lld rows [%lld, %lld) acc %d: bias folded in differs",
                  (long long)rows, (long long)cols, (long long)n, (long long)r0, (long long)r1, acc);
        if (has_avx2()) {
            memcpy(y, y0, sizeof(float) * ny);
            tq_gemm_f32_avx2_bias(wp, cols, x, cols, n, r0, r1, y, rows, b, acc);
            CHECK_MSG(!memcmp(y, ref, sizeof(float) * ny), "%lldx%lld n %lld acc %d: the AVX2 bias form differs",
                      (long long)rows, (long long)cols, (long long)n, acc);
        }
        for (int q = 0; has_avx512() && q < (int)(sizeof kblocks / sizeof kblocks[0]); q++) {
            memcpy(y, y0, sizeof(float) * ny);
            tq_gemm_f32_avx512_kb_bias(wp, cols, x, cols, n, r0, r1, y, rows, b, acc, kblocks[q]);
            CHECK_MSG(!memcmp(y, ref, sizeof(float) * ny), "%lldx%lld n %lld acc %d: the AVX-512 form with K-block %lld differs",
                      (long long)rows, (long long)cols, (long long)n, acc, (long long)kblocks[q]);
        }
    }
    /* no bias: tq_gemm_f32 */
    memcpy(ref, y0, sizeof(float) * ny);
    tq_gemm_f32(wp, cols, x, cols, n, r0, r1, ref, rows);
    memcpy(y, y0, sizeof(float) * ny);
    tq_gemm_f32_bias(wp, cols, x, cols, n, r0, r1, y, rows, NULL, 0);
    CHECK_MSG(!memcmp(y, ref, sizeof(float) * ny), "%lldx%lld n %lld: bias NULL is not tq_gemm_f32", (long long)rows,
              (long long)cols, (long long)n);
    /* the bias did something: acc 0 with a bias is not the product onto y0 */
    memcpy(y, y0, sizeof(float) * ny);
    tq_gemm_f32_bias(wp, cols, x, cols, n, r0, r1, y, rows, b, 0);
    CHECK(memcmp(y, ref, sizeof(float) * ny) != 0);
    free(wp); free(x); free(b); free(y0); free(ref); free(y);
}

/* y[i, r] + (one fmaf chain over k in order) against both kernels, over
 * rows [r0, r1) only (the rest of y untouched). */
static void exact(int64_t rows, int64_t cols, int64_t n, int64_t r0, int64_t r1, uint64_t *rng) {
    size_t nw = (size_t)(rows * cols), ny = (size_t)(n * rows);
    float *w = malloc(sizeof(float) * nw), *wp = malloc(sizeof(float) * nw), *x = malloc(sizeof(float) * (size_t)(n * cols));
    float *ref = malloc(sizeof(float) * ny), *y = malloc(sizeof(float) * ny);
    for (size_t i = 0; i < nw; i++) w[i] = tq_t_randn(rng);
    for (int64_t i = 0; i < n * cols; i++) x[i] = tq_t_randn(rng) * 2.0f;
    for (size_t i = 0; i < ny; i++) ref[i] = tq_t_randn(rng) * 5.0f;
    memcpy(wp, w, sizeof(float) * nw);
    CHECK(tq_gemm_f32_pack(wp, rows, cols) == 0);
    memcpy(y, ref, sizeof(float) * ny);
    for (int64_t i = 0; i < n; i++)
        for (int64_t r = r0; r < r1; r++) {
            float s = 0.0f;
            for (int64_t k = 0; k < cols; k++) s = fmaf(x[i * cols + k], w[r * cols + k], s);
            ref[i * rows + r] += s;
        }
    float *y0 = malloc(sizeof(float) * ny);
    memcpy(y0, y, sizeof(float) * ny);
    tq_gemm_f32(wp, cols, x, cols, n, r0, r1, y, rows);
    CHECK_MSG(!memcmp(y, ref, sizeof(float) * ny), "%lldx%lld n %lld [%lld, %lld): not the scalar fmaf chain's bytes",
              (long long)rows, (long long)cols, (long long)n, (long long)r0, (long long)r1);
    if (has_avx2()) {
        memcpy(y, y0, sizeof(float) * ny);
        tq_gemm_f32_avx2_bias(wp, cols, x, cols, n, r0, r1, y, rows, NULL, 1);
        CHECK_MSG(!memcmp(y, ref, sizeof(float) * ny), "%lldx%lld n %lld: the AVX2 kernel is not the scalar chain's bytes",
                  (long long)rows, (long long)cols, (long long)n);
    }
    for (int q = 0; has_avx512() && q < (int)(sizeof kblocks / sizeof kblocks[0]); q++) {
        memcpy(y, y0, sizeof(float) * ny);
        tq_gemm_f32_avx512_kb_bias(wp, cols, x, cols, n, r0, r1, y, rows, NULL, 1, kblocks[q]);
        CHECK_MSG(!memcmp(y, ref, sizeof(float) * ny), "%lldx%lld n %lld [%lld, %lld): the AVX-512 kernel with K-block %lld is not the scalar chain's bytes",
                  (long long)rows, (long long)cols, (long long)n, (long long)r0, (long long)r1, (long long)kblocks[q]);
    }
    free(w); free(wp); free(x); free(ref); free(y); free(y0);
}

void tq_tests(void) {
    uint64_t rng = 5;
    TQ_CASE("float32 product with the bias folded in: the bytes of bias first, then tq_gemm_f32 (every kernel)");
    if (!tq_gemm_f32_supported()) tq_t_skip("neither AVX-512 nor AVX2 + FMA on this CPU");
    else {
        const int64_t rows[] = {16, 80, 272}, cols[] = {1, 77, 384}, n[] = {1, 5, 37};
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 3; i++) {
                    check(rows[r], cols[c], n[i], 0, rows[r], &rng);
                    if (rows[r] > 32) check(rows[r], cols[c], n[i], 16, rows[r] - 16, &rng);
                }
    }
    TQ_CASE("float32 product over packed weights: bit for bit one fmaf chain per output in k order (every kernel)");
    if (!tq_gemm_f32_supported()) tq_t_skip("neither AVX-512 nor AVX2 + FMA on this CPU");
    else {
        const int64_t n[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 33, 129}, cols[] = {1, 7, 64, 100, 768};
        for (int c = 0; c < 5; c++)
            for (int i = 0; i < 16; i++) {
                exact(80, cols[c], n[i], 0, 80, &rng);
                exact(80, cols[c], n[i], 16, 64, &rng);
            }
        exact(3072, 3072, 9, 0, 3072, &rng);
        exact(16, 3072, 13, 0, 16, &rng);
        exact(2304, 768, 17, 48, 2256, &rng);
        /* K on either side of the AVX-512 kernel's K-block of 128 columns (the
         * running sums stored and reloaded between blocks), and several blocks
         * with a partial last one; each kernel also with the K-blocks above */
        const int64_t kb[] = {127, 128, 129, 3 * 128 + 5};
        for (int c = 0; c < 4; c++)
            for (int i = 0; i < 16; i += 3) {
                exact(80, kb[c], n[i], 0, 80, &rng);
                exact(96, kb[c], n[i] + 64, 16, 96, &rng);
            }
    }
}
