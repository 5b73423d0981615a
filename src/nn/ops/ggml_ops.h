/*
 * ggml_ops.h — decoder operations in ggml's own float steps (ggml-cpu's
 * ops.cpp as llama.cpp runs them), for GGUF files run with their codes kept:
 * with the products of kern_ggml_exact.h they give llama.cpp's bytes
 * (internal; tests/test_kern_vs_ggml.c holds them to ggml's graph).
 */
#ifndef TQ_NN_OPS_GGML_OPS_H
#define TQ_NN_OPS_GGML_OPS_H

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
 *  u_i for the tail (act.c holds the one-lane ggml_v_expf). h may alias g. */
void tq_llama_swiglu_ggml(float *h, const float *g, const float *u, int n);

/* The clones these functions are built as: with FMA (AVX-512 or FMA3) fmaf
 * is one instruction, without it a libm call; the bytes are the same (fmaf
 * rounds once either way; contraction stays off). */
#if defined(__x86_64__) && defined(__GNUC__)
#define TQ_GGML_FMA __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define TQ_GGML_FMA
#endif

/** One lane of ggml_v_expf (ggml's AVX2 + FMA e^x; 0 for -inf). */
float tq_ggml_expf_lane(float x);

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
