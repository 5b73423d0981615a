/*
 * gemm_f32.h — the float32 product over packed weights (kern.h: tq_gemm_f32)
 * with the bias folded into its last step, for the encoder's float32
 * projections (encoder_fwd.c): no separate pass writing or adding the bias
 * over the output tile.
 */
#ifndef TQ_KERN_GEMM_F32_H
#define TQ_KERN_GEMM_F32_H
#include <stdint.h>

/**
 * The product of tq_gemm_f32 (x's n rows against W's rows [r0, r1), both
 * multiples of 16; S the output's FMA chain over k from 0) with bias[r]
 * (indexed by the output row r, absolute) in the same step:
 *   acc 0:  y = bias + S         acc 1:  y = (y + bias) + S,
 * the bytes of writing bias into y (or adding it onto y) first and then
 * running tq_gemm_f32. bias NULL: y = y + S, tq_gemm_f32 itself (acc is
 * then ignored). Only where tq_gemm_f32_supported().
 */
void tq_gemm_f32_bias(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1,
                      float *y, int64_t ldy, const float *bias, int acc);
/** The same by the AVX2 + FMA kernel (gemm_f32_avx2.c; the CPU must have
 *  AVX2 and FMA): the AVX-512 kernel's bytes. */
void tq_gemm_f32_avx2_bias(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1,
                           float *y, int64_t ldy, const float *bias, int acc);
/** The AVX-512 kernel (the CPU must have AVX-512F and FMA) with the
 *  columns in K-blocks of kb (kb < 1 or kb >= K: all K in one block); the
 *  same bytes for every kb. tq_gemm_f32_bias runs it with kb =
 *  tq_gemm_f32_kblock(). For tests and bench_kern. */
void tq_gemm_f32_avx512_kb_bias(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0,
                                int64_t r1, float *y, int64_t ldy, const float *bias, int acc, int64_t kb);
/** The K-block tq_gemm_f32 uses on this CPU (fixed by the CPU's vendor,
 *  never by the shapes of a call): 0
 *  (all K at once) on AMD, where K-blocks measured slower (Zen 4, f32k), 128
 *  elsewhere (measured faster on an Intel Xeon, f32b). */
int64_t tq_gemm_f32_kblock(void);
#endif
