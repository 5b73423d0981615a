/*
 * gemm_i8_epi.h — the float epilogue of the AVX-512 I8 products, shared by
 * the VNNI kernel (gemm_i8_avx512.c) and the AMX one (gemm_i8_amx.c) so the
 * two write the same bytes by construction. Include only from files compiled
 * for AVX-512 F/BW (the functions carry that target).
 *
 * One 16-row output block `base` (a multiple of TQ_KROWS) of the packed
 * matrix k: its scales c, the code-sum offset off = 128 * sum(codes) (the
 * VNNI kernels multiply q + 128 by the codes), the mask of the rows inside
 * [lo, hi) and, with a bias, bias[base ..] under that mask. For a token with
 * scale d and int32 sums s (of (q + 128) * code), the output is
 *   v = 0 + (float)(s - off) * (d * c)
 *   acc 0: y = bias + v (or v)     acc 1: y = (y + bias) + v (or y + v)
 * written under the mask.
 */
#ifndef TQ_KERN_GEMM_I8_EPI_H
#define TQ_KERN_GEMM_I8_EPI_H
#include "kern/kern_types.h"
#include <immintrin.h>
#include <stdint.h>

#define TQ_I8_EPI_TGT __attribute__((target("avx512f,avx512bw"), always_inline)) static inline

typedef struct {
    __m512    c, bv;
    __m512i   off;
    __mmask16 m;
} tq_i8_epi;

/** Sets e for block base; 0 when no row of [lo, hi) lies in it. */
TQ_I8_EPI_TGT int tq_i8_epi_begin(tq_i8_epi *e, const tq_kmat *k, int64_t base, int64_t lo, int64_t hi,
                                  const float *bias) {
    int64_t l0 = lo > base ? lo - base : 0, l1 = hi - base < TQ_KROWS ? hi - base : TQ_KROWS;
    if (l1 <= l0) return 0;
    e->c = _mm512_loadu_ps(k->pscale + base);
    e->off = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(k->psum + base)), 7);
    e->m = (__mmask16)(((1u << (l1 - l0)) - 1u) << l0);
    e->bv = bias ? _mm512_maskz_loadu_ps(e->m, bias + base) : _mm512_setzero_ps();
    return 1;
}

/** Writes one token's 16 outputs of the block: sums s, token scale d, the
 *  block's outputs at yr (y + token * ldy + base). */
TQ_I8_EPI_TGT void tq_i8_epi_store(const tq_i8_epi *e, __m512i s, float d, float *yr, int acc, const float *bias) {
    __m512 dd = _mm512_cvtepi32_ps(_mm512_sub_epi32(s, e->off));
    __m512 v = _mm512_add_ps(_mm512_setzero_ps(), _mm512_mul_ps(dd, _mm512_mul_ps(_mm512_set1_ps(d), e->c)));
    if (bias) v = _mm512_add_ps(acc ? _mm512_add_ps(_mm512_maskz_loadu_ps(e->m, yr), e->bv) : e->bv, v);
    else if (acc) v = _mm512_add_ps(_mm512_maskz_loadu_ps(e->m, yr), v);
    _mm512_mask_storeu_ps(yr, e->m, v);
}
#endif
