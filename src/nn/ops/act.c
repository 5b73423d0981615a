/*
 * act.c — the activations both families use: GELU (erf and tanh forms),
 * ReLU (encoders, tq_enc_activate) and SwiGLU (decoders, tq_llama_swiglu).
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
#include "trueq_llama.h"
#include "nn/ops/ggml_ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops/hot.h"   /* O3 vector loops, no contraction, TQ_HOT clones */

/* erf(x) for float x, branch-free (see the file comment). */
/* c[0] u^(n-1) + ... + c[n-1] by Horner's rule, in this order. */
static inline float horner(const float *c, int n, float u) {
    float p = c[0];
    for (int i = 1; i < n; i++) p = p * u + c[i];
    return p;
}

static const float ERF_P[7] = {1.239608464e-06f, -1.767124526e-05f, 2.175007959e-04f, -2.285417127e-03f,
                               1.985250158e-02f, -1.405360978e-01f, 9.654687384e-01f};
static const float ERF_Q[15] = {2.598570787e-04f, 9.703090104e-05f, -2.039517824e-03f, 1.536217172e-03f,
                                4.676661940e-03f, -1.040347254e-02f, 6.630969920e-03f, 9.574278362e-03f,
                                -3.186589637e-02f, 4.639105123e-02f, -4.365193426e-02f, 2.818722266e-02f,
                                -1.225279947e-02f, 3.267276919e-03f, 9.995930476e-01f};

/* erf(x) for float x, branch-free (see the file comment). */
static inline float erf_poly(float x) {
    float a = fabsf(x);
    /* |x| < 1: x * P(u), u = 2 x^2 - 1 */
    float p = horner(ERF_P, 7, 2.0f * a * a - 1.0f) * a;
    /* 1 <= |x| < 4: Q(v), v = (2|x| - 5) / 3 */
    float c = a < 4.0f ? a : 4.0f;
    float q = horner(ERF_Q, 15, c * (2.0f / 3.0f) - 5.0f / 3.0f);
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

void tq_llama_swiglu(float *h, const float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) {
        float x = g[i];
        h[i] = x / (1.0f + expf(-x)) * u[i];
    }
}


/* ggml_v_expf of ggml's AVX2 + FMA build, one lane: e^x as 2^n (1 + j) with n
 * = round(x / ln 2) by the 1.5 * 2^23 trick, b = x - n ln 2 in two FMA
 * steps, j a degree-5 polynomial in b by FMA; |n| > 126 scales in two
 * factors (s1, s2), |n| > 192 saturates to s1 * s1. */
static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float tq_ggml_expf_lane(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r), n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const uint32_t e = f2u(z) << 23;
    const float k = u2f(e + f2u(1.0f)), u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         0x1.ffffecp-1f * b);
    if (!(fabsf(n) > 126.0f)) return fmaf(j, k, k);
    const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
    const float s1 = u2f(g + 0x7f000000u), s2 = u2f(e - g);
    if (fabsf(n) > 192.0f) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

void tq_llama_swiglu_ggml(float *h, const float *g, const float *u, int n) {
    /* ggml_vec_swiglu_f32: 8 lanes of ggml_v_silu (x / (1 + e^-x)) times u,
     * the tail as ggml_silu_f32 with expf */
    int i = 0, nv = n - n % 8;
    for (; i < nv; i++) {
        float x = g[i];
        h[i] = x / (1.0f + tq_ggml_expf_lane(0.0f - x)) * u[i];
    }
    for (; i < n; i++) {
        float x = g[i];
        h[i] = x / (1.0f + expf(-x)) * u[i];
    }
}
