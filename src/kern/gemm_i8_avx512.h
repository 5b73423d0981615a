/*
 * gemm_i8_avx512.h — the AVX-512 VNNI I8 matrix x matrix product with the
 * bias folded into its last step, for the encoder's projections
 * (encoder_fwd.c). kern_impl.h declares the plain product the kernel table
 * runs.
 */
#ifndef TQ_KERN_GEMM_I8_AVX512_H
#define TQ_KERN_GEMM_I8_AVX512_H
#include "kern/kern_types.h"
#include <stdint.h>

/** 1 when tq_gemm_i8_avx512_bias runs k: the table's AVX-512 I8 row, one
 *  scale per row or per tensor (the matrices tq_gemm_i8_avx512 serves). */
int tq_gemm_i8_avx512_bias_ok(const tq_kmat *k);

/**
 * The product of tq_gemm_i8_avx512 (a's rows x k's rows [r0, r1), written to
 * y[i * ldy + r]) with bias[r] added in the same step:
 *   acc 0:  y = bias + (0 + p)         acc 1:  y = (y + bias) + (0 + p),
 * p the product's float step. These are the bytes of writing bias into y
 * (or adding it, y + bias) first and then running tq_gemm_i8_avx512 with
 * acc 1, so the encoder's fused and unfused tiles agree byte for byte.
 * bias NULL: tq_gemm_i8_avx512 itself.
 */
void tq_gemm_i8_avx512_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                            const float *bias);

/** The VNNI kernel itself (tq_gemm_i8_avx512_bias without the AMX choice). */
void tq_gemm_i8_vnni_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                          const float *bias);
#endif
