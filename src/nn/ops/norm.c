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

/* Compiled as the activations are (act.c), so the encoder's bytes stay
 * what they were when both lived in one file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif

void tq_enc_layernorm_ref(float *out, const float *x, const float *w, const float *b, int n, float eps) {
    /* eight lanes summed in double, then the lanes in order: a fixed order */
    double acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += (double)x[i + k];
    double s = 0;
    for (int k = 0; k < 8; k++) s += acc[k];
    for (; i < n; i++) s += (double)x[i];
    double mean = s / n;
    double va[8] = {0};
    for (i = 0; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) { double d = (double)x[i + k] - mean; va[k] += d * d; }
    double v = 0;
    for (int k = 0; k < 8; k++) v += va[k];
    for (; i < n; i++) { double d = (double)x[i] - mean; v += d * d; }
    float rstd = (float)(1.0 / sqrt(v / n + (double)eps));
    float fm = (float)mean;
    for (i = 0; i < n; i++) out[i] = (x[i] - fm) * rstd * w[i] + b[i];
}

#if defined(__x86_64__)
/* tq_enc_layernorm_ref's steps in its order: the eight double lanes are one
 * 512-bit register, the lanes then added in order as there, the last step
 * in 16 float lanes. */
__attribute__((target("avx512f"))) void tq_enc_layernorm_avx512(float *out, const float *x, const float *w,
                                                                const float *b, int n, float eps) {
    __m512d acc = _mm512_setzero_pd();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)));
    double lane[8], s = 0;
    _mm512_storeu_pd(lane, acc);
    for (int k = 0; k < 8; k++) s += lane[k];
    for (int j = i; j < n; j++) s += (double)x[j];
    double mean = s / n;
    __m512d vm = _mm512_set1_pd(mean), va = _mm512_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        __m512d d = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), vm);
        va = _mm512_add_pd(va, _mm512_mul_pd(d, d));
    }
    double v = 0;
    _mm512_storeu_pd(lane, va);
    for (int k = 0; k < 8; k++) v += lane[k];
    for (int j = i; j < n; j++) { double d = (double)x[j] - mean; v += d * d; }
    float rstd = (float)(1.0 / sqrt(v / n + (double)eps));
    float fm = (float)mean;
    __m512 vf = _mm512_set1_ps(fm), vr = _mm512_set1_ps(rstd);
    for (i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 t = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vf), vr),
                                 _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(out + i, m, _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, b + i)));
    }
}
#else
void tq_enc_layernorm_avx512(float *out, const float *x, const float *w, const float *b, int n, float eps) {
    tq_enc_layernorm_ref(out, x, w, b, n, eps);
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
