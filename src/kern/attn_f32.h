/*
 * attn_f32.h — one attention head's two products in float32 (internal): the
 * encoder's float32 attention (encoder_fwd.c) runs q k^T and p v here
 * instead of OpenBLAS's sgemm.
 *
 * Every output is one chain of fused multiply-adds in a fixed order, from
 * +0.0f:
 *   scores  sc[i, j] = fma(q_i,hs-1 , k_j,hs-1 , ... fma(q_i0, k_j0, +0) ...)
 *           (d = 0 .. hs - 1 in order);
 *   context ctx[i, d] = fma(p_i,S-1 , v_S-1,d , ... fma(p_i0, v_0d, +0) ...)
 *           (j = 0 .. S - 1 in order, masked keys included: their weight is
 *           0, which adds nothing to a finite sum).
 * The portable path runs those chains by fmaf, the AVX-512 and AVX2 paths
 * one chain per vector lane (vfmadd231ps), so all give the same bytes
 * whatever the tiling, and a head's bytes depend on nothing but its inputs.
 *
 * Layouts: q, k and v are rows of `ld` floats (a head's columns of the fused
 * qkv buffer); scores [S, S] row-major; ctx rows of `ldc`. Any S >= 1 and
 * hs >= 1.
 */
#ifndef TQ_KERN_ATTN_F32_H
#define TQ_KERN_ATTN_F32_H
#include "kern/kern_types.h"
#include <stddef.h>
#include <stdint.h>

/** Bytes of scratch tq_attn_f32_scores needs for S tokens and head size hs
 *  (64-byte aligned memory): k^T packed in blocks of 16 keys, [S16 / 16][hs][16]. */
size_t tq_attn_f32_scratch(int S, int hs);

/** The ISA these kernels run for isa: TQ_KISA_AVX512 when asked for and the
 *  CPU has it (kern.h), TQ_KISA_AVX2 when AVX-512 or AVX2 is asked for and
 *  the CPU has AVX2 + FMA, else TQ_KISA_PORTABLE. */
tq_kisa tq_attn_f32_isa(tq_kisa isa);

/** sc[i * S + j] = q_i . k_j (the chain above) for i, j < S. q, k: S rows of
 *  hs floats at stride ld; scratch: tq_attn_f32_scratch(S, hs) bytes. */
void tq_attn_f32_scores(const float *q, const float *k, int64_t ld, int S, int hs, float *sc, void *scratch,
                        tq_kisa isa);

/** tq_attn_f32_scores (the same bytes) fetching into cache, while the
 *  product runs, up to three other matrices of S rows x hs floats at stride
 *  ld (ahead[i], NULL entries and a NULL ahead skipped): the encoder passes
 *  this head's v and the next head's q and k, which otherwise come from L3
 *  as the kernels reach them (at 8 x 128 tokens the q/k/v buffer is past L2;
 *  f32k2). Only read ahead, never written; any pointer into memory the
 *  caller may read. */
void tq_attn_f32_scores_ahead(const float *q, const float *k, int64_t ld, int S, int hs, float *sc, void *scratch,
                              tq_kisa isa, const float *const ahead[3]);

/** ctx[i * ldc + d] = sum_j p[i * S + j] v[j, d] (the chain above) for i < S,
 *  d < hs. v: S rows of hs floats at stride ld. Nothing outside ctx's hs
 *  columns is written. */
void tq_attn_f32_context(const float *p, const float *v, int64_t ld, int S, int hs, float *ctx, int64_t ldc,
                         tq_kisa isa);
#endif
