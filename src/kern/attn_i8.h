/*
 * attn_i8.h — one attention head's two products in int8 (internal): the
 * encoder's int8-kept path (encoder_fwd.c) runs q k^T and p v by integer dot
 * products instead of float32 sgemm.
 *
 * Quantization (every ISA computes the same codes, each float step the same
 * IEEE operation in the same order, so every ISA gives the same bytes; the
 * integer sums are exact):
 *   q, k   per token row of the head: s = max|x| / 127, x -> rne(x / s) in
 *          [-127, 127] (x * (1 / s)); s = 0 (a zero row): codes 0.
 *   scores sc[i, j] = (float)(sum_d q_id k_jd) * (s_q(i) * s_k(j)); the AVX-512
 *          path runs (q + 128) x k by vpdpbusd and takes away 128 sum_d k_jd.
 *   p      (tq_attn_i8_context) per row of the softmax's output: s = max_j p_ij
 *          / 255, p -> rne(p / s) in [0, 255] (unsigned: weights are >= 0); a
 *          masked key's weight 0 stays code 0.
 *   p      (tq_attn_i8_probs: the softmax fused, no float p) per row i of
 *          scores sc (above): m = max of sc[i, j] over kept keys, t = (sc[i, j]
 *          - m) * kf (kf = log2(e) / div, div 0: log2(e)) clamped to [-125, 0]
 *          (NaN: -125), code = rne(255 * 2^t) at most 255, 255 * 2^t as
 *          2^rne(t) times a degree-5 polynomial in t - rne(t) (relative error
 *          1.1e-7; attn_i8.c), so the largest weight's code is 255 and those
 *          below e^-11 are 0; masked keys code 0; s_p = 1 / x where x is
 *          the sum over kept keys of 255 * 2^t before rounding, in float, key
 *          j in lane j % 16 of 16 sums in key order, reduced lanes l + 8,
 *          l + 4, l + 2, l + 1 (s_p = 0 when x is not > 0): the codes and the
 *          scale of tq_attn_i8_context on the float softmax, up to roundings.
 *   v      per head dimension (column d) over the sequence's unmasked tokens:
 *          s = max_j |v_jd| / 127, codes as q's; masked tokens' codes are 0.
 *   ctx    ctx[i, d] = (float)(sum_j c_ij v_jd) * (s_p(i) * s_v(d)), c p's codes
 *          and v_jd v's.
 * A code is x * (1 / s) rounded to nearest even as vcvtps2dq does it (NaN
 * and values beyond int32 give INT32_MIN), saturated to [-128, 127] (signed:
 * only non-finite input reaches -128) or, read as unsigned, to 255 (p).
 *
 * Layouts: q, k and v are rows of `ld` floats (a head's columns of the fused
 * qkv buffer); scores and probabilities [S, S] row-major; ctx rows of `ldc`.
 * Head sizes and sequence lengths of any size >= 1 (padded inside to 4 and 16
 * with zero codes, which add nothing).
 */
#ifndef TQ_KERN_ATTN_I8_H
#define TQ_KERN_ATTN_I8_H
#include "kern/kern_types.h"
#include <stddef.h>
#include <stdint.h>

/** Bytes of scratch one head of S tokens and head size hs needs (64-byte
 *  aligned memory, shared by the two calls of one head). */
size_t tq_attn_i8_scratch(int S, int hs);

/** The ISA these kernels run for isa (TQ_KISA_AVX512 when asked for and the
 *  CPU has AVX-512 VNNI, else TQ_KISA_PORTABLE). */
tq_kisa tq_attn_i8_isa(tq_kisa isa);

/** sc[i * S + j] for i, j < S: q k^T of one head, q and k quantized per row
 *  (above). q, k: S rows of hs floats at stride ld. */
void tq_attn_i8_scores(const float *q, const float *k, int64_t ld, int S, int hs, float *sc, void *scratch,
                       tq_kisa isa);

/** ctx[i * ldc + d] = sum_j p[i * S + j] v[j, d] for i < S, d < hs, p (the
 *  softmax's rows) per row and v per column quantized (above); mask[j] == 0
 *  (mask NULL: none) marks keys whose weights are 0 and whose values are left
 *  out of v's scales. v: S rows of hs floats at stride ld. */
void tq_attn_i8_context(const float *p, const float *v, int64_t ld, const int32_t *mask, int S, int hs, float *ctx,
                        int64_t ldc, void *scratch, tq_kisa isa);

/** Scores of one head as tq_attn_i8_scores, then the softmax fused with p's
 *  quantization (above): p's codes and scales left in scratch for
 *  tq_attn_i8_attend (no S x S float buffer). mask[j] == 0 (mask NULL: none)
 *  marks keys of weight 0; div as tq_softmax_row's (BERT's sqrt(hs), or 0). */
void tq_attn_i8_probs(const float *q, const float *k, int64_t ld, const int32_t *mask, int S, int hs, float div,
                      void *scratch, tq_kisa isa);

/** ctx as tq_attn_i8_context, p the codes tq_attn_i8_probs left in scratch
 *  (same S, hs, mask; the same isa: the scratch layout is shared). */
void tq_attn_i8_attend(const float *v, int64_t ld, const int32_t *mask, int S, int hs, float *ctx, int64_t ldc,
                       void *scratch, tq_kisa isa);

/** tq_attn_i8_probs then tq_attn_i8_attend (the same bytes): one head's
 *  attention, v's rows fetched into cache while the scores run. next (NULL:
 *  none) is the q of the head likely to run next on this thread, its k at
 *  next + (k - q), S rows of hs at stride ld like q's: fetched too (a hint
 *  only: nothing else is read from it). */
void tq_attn_i8_head(const float *q, const float *k, const float *v, int64_t ld, const int32_t *mask, int S, int hs,
                     float div, float *ctx, int64_t ldc, void *scratch, tq_kisa isa, const float *next);

/** p's codes in scratch after tq_attn_i8_probs (or tq_attn_i8_context): S
 *  rows of (S + 3) / 4 * 4 bytes (pads 0); *scales (if not NULL) their S
 *  scales. For tests. */
const uint8_t *tq_attn_i8_codes(const void *scratch, int S, int hs, const float **scales);
#endif
