/*
 * norm.c — the norms both families use: LayerNorm (encoders, trueq_nn.h)
 * and RMSNorm (decoders, trueq_llama.h). Sums run in double in a fixed
 * order, so results do not depend on threads or the build's vector width.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include "nn/ops/vec.h"
#include "nn/ops/ggml_ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Compiled as the activations are (act.c); no contraction (the one fused
 * step is written as fmaf). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* LayerNorm's sums: 32 lanes in double (lane i % 32 over the first n - n % 32
 * values), the four groups of 8 added pairwise ((l, l + 8), (l + 16, l + 24),
 * then the two), the 8 lanes in order, then the remaining values in order:
 * four independent chains (a single one waited on each add), a fixed order. */
#define LNL 32
static double lanes_sum(const double *acc) {
    double s = 0;
    for (int k = 0; k < 8; k++) s += (acc[k] + acc[k + 8]) + (acc[k + 16] + acc[k + 24]);
    return s;
}

void tq_enc_layernorm_ref(float *out, const float *x, const float *w, const float *b, int n, float eps) {
    double acc[LNL] = {0};
    int n32 = n - n % LNL;
    for (int i = 0; i < n32; i += LNL)
        for (int k = 0; k < LNL; k++) acc[k] += (double)x[i + k];
    double s = lanes_sum(acc);
    for (int i = n32; i < n; i++) s += (double)x[i];
    double mean = s / n;
    double va[LNL] = {0};
    for (int i = 0; i < n32; i += LNL)
        for (int k = 0; k < LNL; k++) { double d = (double)x[i + k] - mean; va[k] += d * d; }
    double v = lanes_sum(va);
    for (int i = n32; i < n; i++) { double d = (double)x[i] - mean; v += d * d; }
    float rstd = (float)(1.0 / sqrt(v / n + (double)eps));
    float fm = (float)mean;
    for (int i = 0; i < n; i++) out[i] = fmaf((x[i] - fm) * rstd, w[i], b[i]);
}

#if defined(__x86_64__)
/* tq_enc_layernorm_ref's steps in its order: the 32 double lanes are four
 * 512-bit registers, reduced as there; the last step in 16 float lanes. */
__attribute__((target("avx512f"), always_inline)) static inline uint32_t ln512(float *out, const float *x,
                                                                               const float *w, const float *b, int n,
                                                                               float eps, const int want) {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    int n32 = n - n % LNL;
    for (int i = 0; i < n32; i += LNL) {
        a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)));
        a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)));
        a2 = _mm512_add_pd(a2, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 16)));
        a3 = _mm512_add_pd(a3, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 24)));
    }
    double lane[8], s = 0;
    _mm512_storeu_pd(lane, _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
    for (int k = 0; k < 8; k++) s += lane[k];
    for (int j = n32; j < n; j++) s += (double)x[j];
    double mean = s / n;
    __m512d vm = _mm512_set1_pd(mean);
    a0 = a1 = a2 = a3 = _mm512_setzero_pd();
    for (int i = 0; i < n32; i += LNL) {
        __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), vm);
        __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)), vm);
        __m512d d2 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i + 16)), vm);
        __m512d d3 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i + 24)), vm);
        a0 = _mm512_add_pd(a0, _mm512_mul_pd(d0, d0));
        a1 = _mm512_add_pd(a1, _mm512_mul_pd(d1, d1));
        a2 = _mm512_add_pd(a2, _mm512_mul_pd(d2, d2));
        a3 = _mm512_add_pd(a3, _mm512_mul_pd(d3, d3));
    }
    double v = 0;
    _mm512_storeu_pd(lane, _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
    for (int k = 0; k < 8; k++) v += lane[k];
    for (int j = n32; j < n; j++) { double d = (double)x[j] - mean; v += d * d; }
    float rstd = (float)(1.0 / sqrt(v / n + (double)eps));
    float fm = (float)mean;
    __m512 vf = _mm512_set1_ps(fm), vr = _mm512_set1_ps(rstd);
    const __m512i absm = _mm512_set1_epi32(0x7fffffff);
    __m512i mb = _mm512_setzero_si512();
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vf), vr);
        __m512 o = _mm512_fmadd_ps(t, _mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, b + i));
        _mm512_mask_storeu_ps(out + i, m, o);
        if (want) mb = _mm512_mask_max_epu32(mb, m, mb, _mm512_and_si512(_mm512_castps_si512(o), absm));
    }
    return want ? (uint32_t)_mm512_reduce_max_epu32(mb) : 0;
}

__attribute__((target("avx512f"))) void tq_enc_layernorm_avx512(float *out, const float *x, const float *w,
                                                                const float *b, int n, float eps) {
    (void)ln512(out, x, w, b, n, eps, 0);
}

__attribute__((target("avx512f"))) uint32_t tq_enc_layernorm_max_avx512(float *out, const float *x, const float *w,
                                                                        const float *b, int n, float eps) {
    return ln512(out, x, w, b, n, eps, 1);
}
#else
void tq_enc_layernorm_avx512(float *out, const float *x, const float *w, const float *b, int n, float eps) {
    tq_enc_layernorm_ref(out, x, w, b, n, eps);
}
uint32_t tq_enc_layernorm_max_avx512(float *out, const float *x, const float *w, const float *b, int n, float eps) {
    tq_enc_layernorm_ref(out, x, w, b, n, eps);
    return tq_absmax_bits(out, n);
}
#endif

void tq_enc_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps) {
    if (tq_vec_avx512()) tq_enc_layernorm_avx512(out, x, w, b, n, eps);
    else tq_enc_layernorm_ref(out, x, w, b, n, eps);
}

void tq_llama_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double inv = 1.0 / sqrt(ss / n + (double)eps);
    for (int i = 0; i < n; i++) out[i] = (float)((double)w[i] * ((double)x[i] * inv));
}


void tq_llama_rmsnorm_ggml(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)(x[i] * x[i]);
    const float mean = (float)(ss / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}
