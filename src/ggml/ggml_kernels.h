/*
 * ggml_kernels.h — the row kernels behind the ggml type table (types.c) and
 * the scalar helpers they share. Internal to src/ggml/.
 *
 * Rounding helpers reproduce ggml's (FORMATS.md §3.2):
 *   tq_ggml_nearest_int  round half to even through the 1.5*2^23 trick
 *                        (exact for |f| <= 4194303; defined for any input)
 *   tq_ggml_fp16         fp32 -> fp16 as ggml: IEEE round-to-nearest-even,
 *                        NaN -> 0x7E00 with the sign kept
 *   tq_ggml_f32          fp16 (little-endian bytes) -> fp32, exact
 *   tq_ggml_trunc        float -> int toward zero, saturated to [lo, hi]
 *                        (the (int8_t)/(uint8_t) casts of the legacy quants;
 *                        NaN -> 0)
 */
#ifndef TQ_GGML_KERNELS_H
#define TQ_GGML_KERNELS_H

#include "core/internal.h"
#include <string.h>

#define TQ_QK 32    /* legacy block */
#define TQ_QK_K 256 /* k-quant super-block */

static inline int tq_ggml_nearest_int(float f) {
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static inline uint16_t tq_ggml_fp16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(((u >> 16) & 0x8000u) | 0x7e00u);
    return tq_f32_to_f16(f);
}

static inline float tq_ggml_f32(const uint8_t *p) { return tq_f16_to_f32(tq_ld16(p)); }

static inline int tq_ggml_trunc(float v, int lo, int hi) {
    if (!(v > (float)lo)) return v == v ? lo : 0;   /* also NaN */
    if (!(v < (float)hi)) return hi;
    return (int)v;
}

/* legacy.c: 32-element blocks */
void tq_ggml_dq_q4_0(const void *b, float *y, int64_t n);
void tq_ggml_dq_q4_1(const void *b, float *y, int64_t n);
void tq_ggml_dq_q5_0(const void *b, float *y, int64_t n);
void tq_ggml_dq_q5_1(const void *b, float *y, int64_t n);
void tq_ggml_dq_q8_0(const void *b, float *y, int64_t n);
void tq_ggml_dq_iq4_nl(const void *b, float *y, int64_t n);
/** The IQ4_NL / IQ4_XS 16-entry code book. */
extern const int8_t tq_ggml_iq4nl_grid[16];
void tq_ggml_q_q4_0(const float *x, void *b, int64_t n);
void tq_ggml_q_q4_1(const float *x, void *b, int64_t n);
void tq_ggml_q_q5_0(const float *x, void *b, int64_t n);
void tq_ggml_q_q5_1(const float *x, void *b, int64_t n);
void tq_ggml_q_q8_0(const float *x, void *b, int64_t n);

/* kquants_dequant.c: 256-element super-blocks */
void tq_ggml_dq_q2_k(const void *b, float *y, int64_t n);
void tq_ggml_dq_q3_k(const void *b, float *y, int64_t n);
void tq_ggml_dq_q4_k(const void *b, float *y, int64_t n);
void tq_ggml_dq_q5_k(const void *b, float *y, int64_t n);
void tq_ggml_dq_q6_k(const void *b, float *y, int64_t n);
void tq_ggml_dq_q8_k(const void *b, float *y, int64_t n);
void tq_ggml_dq_iq4_xs(const void *b, float *y, int64_t n);
/** Q4_K/Q5_K 6-bit scale sc and min m of sub-block j from the 12 packed bytes. */
void tq_ggml_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m);
/** Q3_K signed scale (l_k - 32) of sub-block k from the 12 packed bytes. */
int tq_ggml_q3k_scale(int k, const uint8_t *s);

/* kquants_quant.c */
void tq_ggml_q_q2_k(const float *x, void *b, int64_t n);
void tq_ggml_q_q3_k(const float *x, void *b, int64_t n);
void tq_ggml_q_q4_k(const float *x, void *b, int64_t n);
void tq_ggml_q_q5_k(const float *x, void *b, int64_t n);
void tq_ggml_q_q6_k(const float *x, void *b, int64_t n);
void tq_ggml_q_q8_k(const float *x, void *b, int64_t n);
/** 1: Q6_K's encoder searches its candidate scales one by one (the portable
 *  reference); 0 (default): side by side in vector lanes, same bytes. Tests. */
void tq_ggml_kquants_reference(int on);

/** 1: the legacy encoders (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) run legacy.c's
 *  portable reference loops; 0 (default): legacy_fast.c's vector loops,
 *  same bytes. Tests. */
void tq_ggml_legacy_reference(int on);
/* legacy_fast.c: the vector encoders (n a multiple of 32) */
void tq_ggml_fast_q4_0(const float *x, void *b, int64_t n);
void tq_ggml_fast_q4_1(const float *x, void *b, int64_t n);
void tq_ggml_fast_q5_0(const float *x, void *b, int64_t n);
void tq_ggml_fast_q5_1(const float *x, void *b, int64_t n);
void tq_ggml_fast_q8_0(const float *x, void *b, int64_t n);
/** Q8_0 by legacy_fast.c's vector-extension loop only (the reference of the
 *  AVX-512 one; tq_ggml_fast_q8_0 runs it where AVX-512F is missing). */
void tq_ggml_fast_q8_0_vec(const float *x, void *b, int64_t n);
/* legacy_fast_avx512.c */
/** Encodes the first nb - nb % 16 of nb Q8_0 blocks (32 floats in, 34 bytes
 *  out each) with AVX-512F and returns how many it wrote: 0 on a CPU (or a
 *  build) without AVX-512F. Same bytes as tq_ggml_fast_q8_0_vec. */
int64_t tq_ggml_fast_q8_0_avx512(const float *x, void *b, int64_t nb);
/** h[i] = fp16 of f[i] by vcvtps2ph (round to nearest even), 16 at a time;
 *  0 (nothing written) without AVX-512F. Equals tq_ggml_fp16 for every
 *  non-NaN float (NaN payloads differ); tests check that. */
int tq_ggml_fp16_avx512(const float *f, uint16_t *h, int64_t n);

/* ternary.c */
void tq_ggml_dq_tq1_0(const void *b, float *y, int64_t n);
void tq_ggml_dq_tq2_0(const void *b, float *y, int64_t n);
void tq_ggml_q_tq1_0(const float *x, void *b, int64_t n);
void tq_ggml_q_tq2_0(const float *x, void *b, int64_t n);

#endif
