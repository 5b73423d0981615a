/*
 * act.c — the activations both families use: GELU (erf and tanh forms),
 * ReLU (encoders, tq_enc_activate) and SwiGLU (decoders, tq_llama_swiglu).
 *
 * GELU's erf is evaluated with two polynomials fitted for this file
 * (Chebyshev fits in double, coefficients rounded to float): x * P(x^2) for
 * |x| < 1 and Q(|x|) for 1 <= |x| < 4, 1 beyond (erf(4) rounds to 1 in
 * float32). Its largest error against erf in double is about 1e-7, the size
 * of libm's erff, but the loop has no calls and no branches, so it
 * vectorizes (AVX2 clone chosen at run time). The compiler's vector loop
 * runs one Horner chain (22 dependent steps) per vector; the AVX-512 form
 * (tq_gelu_erf_avx512, vec.h) runs four vectors' chains side by side, the
 * same operations in the same order, hence the same bytes.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include "nn/ops/vec.h"
#include "kern/kern.h"
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

void tq_gelu_erf_ref(float *x, int64_t n) { gelu_erf(x, n); }

int tq_vec_avx512(void) {
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        v = tq_kern_isa(NULL) == TQ_KISA_AVX512;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

/* (clones of static functions: clang does not clone an exported one) */
TQ_HOT static void vec_add(float *y, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = y[i] + b[i];
}

TQ_HOT static void vec_div(float *y, float d, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = y[i] / d;
}

void tq_vec_add(float *y, const float *b, int64_t n) { vec_add(y, b, n); }
void tq_vec_div(float *y, float d, int64_t n) { vec_div(y, d, n); }

#if defined(__x86_64__)
#define TGT512 __attribute__((target("avx512f")))

/* Horner over c[0..n) at u, as horner() does: p = p * u + c[i]. */
#define HORNER(c, n, u, out)                                                                                           \
    do {                                                                                                               \
        __m512 p_ = _mm512_set1_ps((c)[0]);                                                                            \
        for (int i_ = 1; i_ < (n); i_++) p_ = _mm512_add_ps(_mm512_mul_ps(p_, (u)), _mm512_set1_ps((c)[i_]));         \
        (out) = p_;                                                                                                    \
    } while (0)

/* gelu_erf on one vector: erf_poly's steps, in its order. */
TGT512 static inline __attribute__((always_inline)) __m512 gelu16(__m512 v) {
    const __m512i absm = _mm512_set1_epi32(0x7fffffff);
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 x = _mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f));
    __m512 a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), absm));
    __m512 u = _mm512_sub_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(2.0f), a), a), one), p, q;
    HORNER(ERF_P, 7, u, p);
    p = _mm512_mul_ps(p, a);
    __m512 c = _mm512_min_ps(a, _mm512_set1_ps(4.0f));   /* a < 4 ? a : 4 */
    __m512 w = _mm512_sub_ps(_mm512_mul_ps(c, _mm512_set1_ps(2.0f / 3.0f)), _mm512_set1_ps(5.0f / 3.0f));
    HORNER(ERF_Q, 15, w, q);
    __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, one, _CMP_LT_OQ), q, p);
    r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r, one, _CMP_GT_OQ), r, one);
    /* copysignf(r, x) */
    __m512i sgn = _mm512_andnot_si512(absm, _mm512_castps_si512(x));
    r = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(r), absm), sgn));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(one, r));
}

TGT512 void tq_gelu_erf_avx512(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {   /* four independent chains */
        __m512 a = gelu16(_mm512_loadu_ps(x + i)), b = gelu16(_mm512_loadu_ps(x + i + 16));
        __m512 c = gelu16(_mm512_loadu_ps(x + i + 32)), d = gelu16(_mm512_loadu_ps(x + i + 48));
        _mm512_storeu_ps(x + i, a);
        _mm512_storeu_ps(x + i + 16, b);
        _mm512_storeu_ps(x + i + 32, c);
        _mm512_storeu_ps(x + i + 48, d);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(x + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
#else
void tq_gelu_erf_avx512(float *x, int64_t n) { gelu_erf(x, n); }
#endif

TQ_HOT static void relu(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void tq_enc_activate(float *x, int64_t n, tq_enc_act act) {
    switch (act) {
    case TQ_ACT_GELU:
        if (tq_vec_avx512()) tq_gelu_erf_avx512(x, n);
        else gelu_erf(x, n);
        break;
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

