/*
 * ggml_ops.h — decoder operations in ggml's own float steps (ggml-cpu's
 * ops.cpp as llama.cpp runs them), for GGUF files run with their codes kept:
 * with the products of kern_ggml_exact.h they give llama.cpp's bytes
 * (internal; tests/test_kern_vs_ggml.c holds them to ggml's graph).
 */
#ifndef TQ_NN_OPS_GGML_OPS_H
#define TQ_NN_OPS_GGML_OPS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/** RMSNorm as ggml_rms_norm then ggml_mul: s = sum of the float squares
 *  x_i * x_i in double, mean = (float)(s / n), scale = 1.0f / sqrtf(mean +
 *  eps), out_i = (x_i * scale) * w_i, all float. out may alias x. */
void tq_llama_rmsnorm_ggml(float *out, const float *x, const float *w, int n, float eps);

/** cs[rope_dim] (float values, held as double to share
 *  tq_llama_rope_table's table) of tq_llama_rope_apply_ggml for position pos, as
 *  ggml_rope_cache_init (no YaRN, freq_scale 1): theta = (float)pos, per
 *  pair j: cs[2j] = cosf(theta / f_j) * mscale, cs[2j+1] = sinf(...) *
 *  mscale, then theta *= powf(theta_base, -2.0f / rope_dim) (f_j = factors[j]
 *  or 1). */
void tq_llama_rope_table_ggml(double *cs, int rope_dim, int pos, float theta_base, const float *factors, float mscale);

/** RoPE from that table, ggml's rotate_pairs as its x86 AVX2 + FMA build
 *  runs it (gcc contracts each x0 product into an FMA): x0' = fmaf(x0, c,
 *  -(x1 s)), x1' = fmaf(x0, s, x1 c) (pairs (2j, 2j+1), or (j, j +
 *  rope_dim/2) with half_layout). */
void tq_llama_rope_apply_ggml(float *v, int n_heads, int head_size, int rope_dim, int half_layout, const double *cs);

/** SwiGLU as ggml_vec_swiglu_f32 of the AVX2 + FMA build: h_i = g_i / (1 +
 *  ggml_v_expf(-g_i)) * u_i over the multiple of 8, g_i / (1 + expf(-g_i)) *
 *  u_i for the tail (the lane: tq_ggml_expf_lane below). h may alias g. */
void tq_llama_swiglu_ggml(float *h, const float *g, const float *u, int n);

/* fmaf is one instruction where the CPU has FMA3 and a libm call where it
 * has not; the bytes are the same (fmaf rounds once either way, contraction
 * stays off). So on x86 with GCC or clang the functions that run fmaf per
 * term are built twice, their body (TQ_GGML_BODY, always inlined) once in a
 * TQ_GGML_FMA_TARGET function and once plain, and tq_ggml_fma_path() picks
 * one per call. (Explicit rather than target_clones: clang 14 names a
 * target_clones resolver name.ifunc, which callers in other files cannot
 * reach.) */
#if defined(__x86_64__) && defined(__GNUC__)
#define TQ_GGML_FMA_PATH 1
#define TQ_GGML_FMA_TARGET __attribute__((target("avx2,fma")))
#define TQ_GGML_BODY static inline __attribute__((always_inline))
/** 1 when the FMA build of these functions runs: the CPU has AVX2 and FMA3
 *  and TRUEQ_ISA does not ask for the portable kernels (which is how the
 *  tests run the plain build on this machine and compare the bytes). */
int tq_ggml_fma_path(void);
#else
#define TQ_GGML_FMA_PATH 0
#define TQ_GGML_BODY static inline
#endif

/** One lane of ggml_v_expf, ggml's AVX2 + FMA e^x: 2^n (1 + j) with n =
 *  round(x / ln 2) by the 1.5 * 2^23 trick, b = x - n ln 2 in two FMA steps,
 *  j a degree-5 polynomial in b by FMA; |n| > 126 scales in two factors
 *  (s1, s2), |n| > 192 saturates to s1 * s1 (0 for -inf). Always inlined,
 *  so a caller built with TQ_GGML_FMA_TARGET gets the FMA instructions (an
 *  out-of-line copy is built plain: its fmaf were libm calls, 2-3% of a
 *  SmolLM2 step). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline float tq_ggml_expf_lane(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r), n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    uint32_t e, one, g;
    float k, s1, s2;
    memcpy(&e, &z, 4);
    e <<= 23;
    const float f1 = 1.0f;
    memcpy(&one, &f1, 4);
    one += e;
    memcpy(&k, &one, 4);
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         0x1.ffffecp-1f * b);
    if (!(fabsf(n) > 126.0f)) return fmaf(j, k, k);
    g = n <= 0.0f ? 0x82000000u : 0u;
    uint32_t t1 = g + 0x7f000000u, t2 = e - g;
    memcpy(&s1, &t1, 4);
    memcpy(&s2, &t2, 4);
    if (fabsf(n) > 192.0f) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

/** tq_llama_attention (same arguments and layout) as llama.cpp computes it
 *  token by token without flash attention: q.k by ggml_vec_dot_f32 (4 x 8
 *  float lanes over steps of 32 by FMA, GGML_F32x8_REDUCE), times scale;
 *  softmax as ggml_soft_max_f32 (ggml_v_expf per chunk of 8, each chunk's
 *  hsum_float_8 added in double, then times (float)(1 / sum)); out = the
 *  probabilities times V by ggml_vec_dot_f32 over the positions (the
 *  KV cache's padding to 256 cells adds only zero terms). */
void tq_llama_attention_ggml(float *out, const float *q, const float *kc, const float *vc, int n_pos, int n_heads,
                             int n_kv_heads, int head_size, int kv_stride, float *scratch);

/* The decoder's operations of a tq_llama: ggml's for a GGUF file with its
 * codes kept (l->ggml_ops), trueq's own otherwise (llama.c, llama_batch.c). */
#define TQ_RMSNORM(l) ((l)->ggml_ops ? tq_llama_rmsnorm_ggml : tq_llama_rmsnorm)
#define TQ_ROPE_TABLE(l) ((l)->ggml_ops ? tq_llama_rope_table_ggml : tq_llama_rope_table)
#define TQ_ROPE_APPLY(l) ((l)->ggml_ops ? tq_llama_rope_apply_ggml : tq_llama_rope_apply)
#define TQ_SWIGLU(l) ((l)->ggml_ops ? tq_llama_swiglu_ggml : tq_llama_swiglu)
#define TQ_ATTENTION(l) ((l)->ggml_ops ? tq_llama_attention_ggml : tq_llama_attention)

#endif
