/*
 * kern_impl.h — what kern.c shares with the per-ISA kernel files (internal
 * to src/kern/): quantized activations and the product signature.
 */
#ifndef TQ_KERN_IMPL_H
#define TQ_KERN_IMPL_H
#include "kern/kern_types.h"
#include <stdint.h>
#include <string.h>

typedef void (*tq_kern_fn)(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);

/* The rows' products, one per (kind, ISA) file. */
void tq_kern_i8_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q8_0_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q4_0_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_i8_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q8_0_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q4_0_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q51_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_lin_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_nf4_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_half_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q4_1_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_lin_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_nf4_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_half_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_k45_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q6_k_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_k45_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q6_k_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_i8_neon(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q8_0_neon(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q4_0_neon(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q8_0_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q4_0_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_i8_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
/* The I8 matrix x matrix product for one group along a row (gemm_i8_avx512.c). */
void tq_gemm_i8_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);

/* The AVX2 I8 row: one group along a row by gemm_i8_avx2.c's register-tiled
 * product, grouped scales by tq_kern_i8_avx2. */
void tq_gemm_i8_avx2_row(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);

/* The float32 product over packed weights by AVX2 + FMA (gemm_f32_avx2.c):
 * tq_gemm_f32 where the CPU lacks AVX-512, the AVX-512 kernel's bytes. */
void tq_gemm_f32_avx2(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1,
                      float *y, int64_t ldy);

/* One activation row, one scale (kern.c's per-row quantization, the same
 * bytes; gemm_i8_avx512.c, gemm_i8_avx2.c). */
void tq_kern_quant_row_avx512(const float *x, int64_t cols, int64_t kpad, int8_t *q, uint8_t *qa, float *d, int offset);
/* tq_kern_quant_row_avx512 with the row's max |x| given as bits (kern.h,
 * tq_kact_row_max); q NULL: only qa written. */
void tq_kern_quant_row_max_avx512(const float *x, int64_t cols, int64_t kpad, int8_t *q, uint8_t *qa, float *d, int offset,
                                  uint32_t bits);
void tq_kern_quant_row_avx2(const float *x, int64_t cols, int64_t kpad, int8_t *q, uint8_t *qa, float *d, int offset);

/* Four bytes at p as an int32 (any alignment): the activation word the
 * vector products broadcast. */
static inline int32_t tq_kern_ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Columns [c0, c1) of group g of an I8 matrix, in 4-byte steps of the
 * packed rows: [*k0, *k1). */
static inline void tq_kern_group_k4(const tq_kmat *k, int64_t g, int64_t *k0, int64_t *k1) {
    int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols;
    *k0 = c0 / 4;
    *k1 = (c1 + 3) / 4;
}

/* Code c of a grouped 4- or 8-bit row (two codes a byte, element 2j in the
 * low nibble: the linear codecs' and MLX's layout). */
static inline int tq_kern_code(const uint8_t *w, int64_t c, int bits) {
    return bits == 8 ? w[c] : w[c >> 1] >> ((c & 1) * 4) & 15;
}

/* Group g of row r of an L4/A4/A8/M4/M8 matrix (kern.h), from the exact
 * integer sums A = sum u q_x and X = sum q_x over the group, the activation
 * scale dx: the float steps every ISA takes, so every ISA gives its bytes. */
static inline float tq_kern_lin_group(const tq_kmat *k, int64_t r, int64_t g, int32_t A, int32_t X, float dx) {
    int64_t o = r * k->sstride + g;
    switch (k->kind) {
    case TQ_KW_L4: return (float)(A - 8 * X) * (dx * k->scale[o]);
    case TQ_KW_A4:
    case TQ_KW_A8: return (float)(A - (int32_t)k->zero[o] * X) * (dx * k->scale[o]);
    default: return dx * (k->scale[o] * (float)A + k->bias[o] * (float)X);
    }
}

/* A K-quant super-block of 256 from its exact int32 sums: S = sum over
 * sub-blocks of scale x (sum u q_x), M = sum of min x (sum q_x) (0 for
 * Q6_K), the block's d and dmin and the activation scale dx: the float steps
 * of every ISA. */
static inline float tq_kern_kq(int32_t S, int32_t M, float d, float dmin, float dx) {
    return (float)S * (d * dx) - (float)M * (dmin * dx);
}
#endif
