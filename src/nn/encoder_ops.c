/*
 * encoder_ops.c — the encoder's building blocks: LayerNorm, the activations
 * and one sequence's multi-head self-attention (trueq_nn.h).
 *
 * GELU's erf is evaluated with two polynomials fitted for this file
 * (Chebyshev fits in double, coefficients rounded to float): x * P(x^2) for
 * |x| < 1 and Q(|x|) for 1 <= |x| < 4, 1 beyond (erf(4) rounds to 1 in
 * float32). Its largest error against erf in double is about 1e-7, the size
 * of libm's erff, but the loop has no calls and no branches, so it
 * vectorizes (AVX2 clone chosen at run time).
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* gcc vectorizes the selects of erf_poly only at -O3 and without
 * -ftrapping-math (which concerns FP exception traps, never values); clang
 * vectorizes them at -O2 already. No value-changing flag is used. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#define TQ_HOT __attribute__((target_clones("avx2", "default")))

void tq_enc_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps) {
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

/* erf(x) for float x, branch-free (see the file comment). */
static inline float erf_poly(float x) {
    float a = fabsf(x);
    /* |x| < 1: x * P(u), u = 2 x^2 - 1 */
    float u = 2.0f * a * a - 1.0f;
    float p = 1.239608464e-06f;
    p = p * u - 1.767124526e-05f;
    p = p * u + 2.175007959e-04f;
    p = p * u - 2.285417127e-03f;
    p = p * u + 1.985250158e-02f;
    p = p * u - 1.405360978e-01f;
    p = p * u + 9.654687384e-01f;
    p *= a;
    /* 1 <= |x| < 4: Q(v), v = (2|x| - 5) / 3 */
    float c = a < 4.0f ? a : 4.0f;
    float v = c * (2.0f / 3.0f) - 5.0f / 3.0f;
    float q = 2.598570787e-04f;
    q = q * v + 9.703090104e-05f;
    q = q * v - 2.039517824e-03f;
    q = q * v + 1.536217172e-03f;
    q = q * v + 4.676661940e-03f;
    q = q * v - 1.040347254e-02f;
    q = q * v + 6.630969920e-03f;
    q = q * v + 9.574278362e-03f;
    q = q * v - 3.186589637e-02f;
    q = q * v + 4.639105123e-02f;
    q = q * v - 4.365193426e-02f;
    q = q * v + 2.818722266e-02f;
    q = q * v - 1.225279947e-02f;
    q = q * v + 3.267276919e-03f;
    q = q * v + 9.995930476e-01f;
    float r = a < 1.0f ? p : q;   /* Q(4) rounds to 1: beyond 4 the clamp gives 1 */
    r = r > 1.0f ? 1.0f : r;
    return copysignf(r, x);
}

TQ_HOT static void gelu_erf(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + erf_poly(v * 0.70710678118654752f));
    }
}

TQ_HOT static void relu(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void tq_enc_activate(float *x, int64_t n, tq_enc_act act) {
    switch (act) {
    case TQ_ACT_GELU: gelu_erf(x, n); break;
    case TQ_ACT_GELU_TANH:
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
        }
        break;
    case TQ_ACT_RELU: relu(x, n); break;
    }
}

/* The straightforward form, one query row at a time: the reference the
 * batched forward pass (encoder.c) is tested against. */
void tq_enc_attention(float *out, const float *q, const float *k, const float *v, const int32_t *mask,
                      int seq, int n_heads, int head_size, float *scratch) {
    int dim = n_heads * head_size;
    float scale = sqrtf((float)head_size);
    for (int h = 0; h < n_heads; h++) {
        int c0 = h * head_size;
        for (int i = 0; i < seq; i++) {
            const float *qi = q + (size_t)i * dim + c0;
            float mx = -INFINITY;
            for (int j = 0; j < seq; j++) {
                if (mask && !mask[j]) { scratch[j] = 0; continue; }
                const float *kj = k + (size_t)j * dim + c0;
                float s = 0;
                for (int d = 0; d < head_size; d++) s += qi[d] * kj[d];
                scratch[j] = s / scale;
                if (scratch[j] > mx) mx = scratch[j];
            }
            float sum = 0;
            for (int j = 0; j < seq; j++) {
                if (mask && !mask[j]) continue;
                scratch[j] = expf(scratch[j] - mx);
                sum += scratch[j];
            }
            float *oi = out + (size_t)i * dim + c0;
            for (int d = 0; d < head_size; d++) oi[d] = 0;
            if (!(sum > 0)) continue;   /* no real key: zeros */
            for (int j = 0; j < seq; j++) {
                if (mask && !mask[j]) continue;
                float p = scratch[j] / sum;
                const float *vj = v + (size_t)j * dim + c0;
                for (int d = 0; d < head_size; d++) oi[d] += p * vj[d];
            }
        }
    }
}
