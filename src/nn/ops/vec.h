/*
 * vec.h — the encoder's element-wise loops written by hand for AVX-512
 * (internal to src/nn/): GELU (act.c), the attention softmax (softmax.c)
 * and LayerNorm (norm.c), each next to the portable C loop it must match byte for
 * byte, and the small row helpers the forward pass runs around its
 * products.
 *
 * The vector forms perform the same IEEE operations in the same order as
 * the C forms (no reassociation, no contraction: a fused multiply-add is
 * written as fmaf in C where the vector form fuses, and nowhere else), only
 * several vectors at a time, so tq_enc_activate / tq_softmax_row /
 * tq_enc_layernorm give the same bytes whichever runs; test_enc_vec compares
 * them on odd lengths and edge values.
 * The *_avx512 entries may be called only where tq_vec_avx512() is 1, the
 * *_avx2 ones where tq_vec_avx2() is.
 */
#ifndef TQ_NN_OPS_VEC_H
#define TQ_NN_OPS_VEC_H
#include <stdint.h>

/** 1 when this CPU runs the AVX-512 F forms below (and the dispatching
 *  entries use them); TRUEQ_ISA=portable or avx2 turns them off. */
int  tq_vec_avx512(void);
/** 1 when this CPU runs the AVX2 forms (AVX2 + FMA, or AVX-512). */
int  tq_vec_avx2(void);

/** GELU, erf form, in place: the portable loop (act.c's reference) and its
 *  AVX-512 and AVX2 forms (the same bytes). */
void tq_gelu_erf_ref(float *x, int64_t n);
void tq_gelu_erf_avx512(float *x, int64_t n);
void tq_gelu_erf_avx2(float *x, int64_t n);

/** tq_gelu_erf_avx512, returning the largest |result| as the activation
 *  quantizer takes it (kern.h, tq_kact_row_max): tq_absmax_bits of x after. */
uint32_t tq_gelu_erf_max_avx512(float *x, int64_t n);
/** The maximum over x[0, n) of the float bits with the sign cleared, as
 *  unsigned integers (0 for n 0): the portable reference of the *_max forms. */
uint32_t tq_absmax_bits(const float *x, int64_t n);

/** tq_softmax_row's portable loop (softmax.c) and its AVX-512 and AVX2
 *  forms (the same bytes). */
void tq_softmax_row_ref(float *r, int n, const int32_t *mask, float div);
void tq_softmax_row_avx512(float *r, int n, const int32_t *mask, float div);
void tq_softmax_row_avx2(float *r, int n, const int32_t *mask, float div);
void tq_softmax_rows_avx512(float *r, int rows, int n, const int32_t *mask, float div);

/** tq_enc_layernorm's portable loop (norm.c) and its AVX-512 form. */
void tq_enc_layernorm_ref(float *out, const float *x, const float *w, const float *b, int n, float eps);
void tq_enc_layernorm_avx512(float *out, const float *x, const float *w, const float *b, int n, float eps);
/** tq_enc_layernorm_avx512, returning tq_absmax_bits(out, n) found in its last pass. */
uint32_t tq_enc_layernorm_max_avx512(float *out, const float *x, const float *w, const float *b, int n, float eps);

/** y[i] = y[i] + b[i] for i in [0, n). */
void tq_vec_add(float *y, const float *b, int64_t n);
/** y[i] = y[i] / d for i in [0, n). */
void tq_vec_div(float *y, float d, int64_t n);
#endif
