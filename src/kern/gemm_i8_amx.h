/*
 * gemm_i8_amx.h — the AMX-INT8 I8 matrix x matrix product (gemm_i8_amx.c)
 * and whether it runs: tq_gemm_i8_avx512_bias (gemm_i8_avx512.h) picks it,
 * kern.c names it in the kernels line.
 */
#ifndef TQ_KERN_GEMM_I8_AMX_H
#define TQ_KERN_GEMM_I8_AMX_H
#include "kern/kern_types.h"
#include <stdint.h>

/** Fewest tokens (a->n) for which tq_gemm_i8_avx512_bias runs AMX; fewer
 *  (a decoder's n = 1) keep VNNI. Matrices under 64 columns keep VNNI too. */
#define TQ_AMX_MIN_N 16

/** 1 when this CPU has AMX-TILE + AMX-INT8, the OS saves tile state (XCR0
 *  bits 17/18) and granted XTILEDATA (asked once a process, thread-safe;
 *  Linux x86-64 and a compiler with AMX only). */
int tq_gemm_i8_amx_supported(void);
/** 1 when AMX is to run the I8 product: supported, and TRUEQ_ISA is unset
 *  or names no ISA (portable, avx2, avx512 = VNNI only, neon) nor decode;
 *  TRUEQ_ISA=amx (or unset) is the best, AMX on. Reads the environment:
 *  tq_kern_prepare asks once per matrix (tq_kmat.amx), products never do. */
int tq_gemm_i8_amx_on(void);
/** tq_gemm_i8_avx512_bias (gemm_i8_avx512.h) by AMX-INT8 tiles (gemm_i8_amx.c): the same
 *  bytes. Only where tq_gemm_i8_amx_supported(). */
void tq_gemm_i8_amx_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                         const float *bias);
#endif
