/*
 * kern_ggml_exact.h — ggml's own float steps for one weight row times one
 * activation row, for the products llama.cpp's x86 CPU backend (AVX2 + FMA
 * build, the one tests/py/llama_venv.sh makes) computes on GGUF weights, so
 * that trueq's --keep-quantized products EQUAL ggml's, bit for bit.
 *
 * Inputs: w, one stored row of ggml blocks (borrowed); xq, the row's int8
 * activation codes as ggml quantizes them (Q8_0 blocks of 32, or Q8_K
 * blocks of 256); dx, their scales (one float per block: Q8_0's float16 d
 * widened, Q8_K's float32 d); nb, the blocks along the row. No allocation,
 * no failure. The integer sums are exact; what has to be reproduced is the
 * float order, which these functions state and follow with fmaf:
 *
 *  - "lanes" (ggml_vec_dot_q8_0_q8_0 / _q4_0_q8_0 / _q5_0_q8_0, tinyBLAS's Q8_0 and
 *    Q4_0 tiles): 8 float lanes; per block b and lane k, the int32 sum s_k
 *    of the products of elements 4k..4k+3 of the block (element order: Q4_0
 *    low nibbles are elements 0..15, high nibbles 16..31), then
 *    lane_k = fmaf(dw * dx, (float)s_k, lane_k); the result is
 *    ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)) (hsum_float_8).
 *  - "repacked" (ggml's CPU_REPACK buffer: Q4_0 as Q4_0x8 and Q4_K as
 *    Q4_Kx8 when the matrix has a multiple of 8 rows; gemv and gemm alike):
 *    one float per row; per block acc = fmaf((float)S_b, dw * dx, acc) with
 *    S_b the exact block sum; Q4_K also accm = fmaf((float)M_b, dmin * dx,
 *    accm) with M_b = sum_j m_j (sum of the 32 codes of sub-block j), and the
 *    result acc - accm.
 *  - Q6_K (ggml_vec_dot_q6_K_q8_K, AVX2): 8 int32 lanes per super-block;
 *    lane k holds sum over the 8 chunks of 32 elements (e = 128 h + 32 t + l)
 *    of sc[e / 16] u_e q_e for l in 4k..4k+3, minus 32 (sc[2k] bsum[2k] +
 *    sc[2k+1] bsum[2k+1]) (bsum: sums of 16 codes); lane_k = fmaf(dx * dw,
 *    (float)S_k, lane_k); hsum_float_8 at the end.
 */
#ifndef TQ_KERN_GGML_EXACT_H
#define TQ_KERN_GGML_EXACT_H
#include <stdint.h>

/** Q8_0 row (34-byte blocks) against Q8_0 activations: the "lanes" order. */
float tq_gx_q8_0(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb);
/** Q4_0 row (18-byte blocks) against Q8_0 activations: the "lanes" order
 *  (ggml_vec_dot_q4_0_q8_0; llama.cpp's order where the rows are not a
 *  multiple of 8). */
float tq_gx_q4_0(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb);
/** Q5_0 row (22-byte blocks) against Q8_0 activations: the "lanes" order
 *  (ggml_vec_dot_q5_0_q8_0; ggml never repacks Q5_0 on x86). */
float tq_gx_q5_0(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb);
/** Q4_0 row against Q8_0 activations: the "repacked" order. */
float tq_gx_q4_0_rep(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb);
/** Q4_K row (144-byte super-blocks) against Q8_K activations: the
 *  "repacked" order. */
float tq_gx_q4_k_rep(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb);
/** The exact integer sums of one Q4_K (q5 = 0) or Q5_K (q5 = 1) super-block p
 *  against 256 Q8_K codes xb: S = sum_j sc_j sum u q, M = sum_j m_j sum q. */
void tq_gx_k45_sums(const uint8_t *p, int q5, const int8_t *xb, int32_t *S, int32_t *M);
/** Q6_K row (210-byte super-blocks) against Q8_K activations. */
float tq_gx_q6_k(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb);

#endif
