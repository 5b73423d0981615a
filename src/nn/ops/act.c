/*
 * act.c — the activations both families use: GELU (erf and tanh forms),
 * ReLU (encoders, tq_enc_activate) and SwiGLU (decoders, tq_llama_swiglu).
 *
 * GELU's erf is evaluated piecewise: [0, 4) in eight intervals of width
 * 1/2, on each a polynomial of degree 6 in t = 4|x| - (2k + 1), t in
 * [-1, 1] (Chebyshev interpolants of erf fitted in double for this file,
 * coefficients rounded to float), 1 from 4 on (erf(4) rounds to 1 in
 * float32). Its largest error against erf in double is 8e-8 (float
 * rounding of the evaluation; the fits themselves are within 4e-9), the
 * size of libm's erff. The loop has no calls and no branches; the AVX-512
 * form (tq_gelu_erf_avx512, vec.h) takes each lane's coefficients from a
 * register by the interval index (vpermps), the same operations in the
 * same order as the C loop (fused multiply-adds written as fmaf there),
 * hence the same bytes: one chain of 6 fused steps per value, and GELU
 * itself one more, h + |h| erf(|x|) with h = v / 2.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include "nn/ops/vec.h"
#include "kern/kern.h"
#include "nn/ops/ggml_ops.h"
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "nn/ops/hot.h"   /* O3 vector loops, no contraction, TQ_HOT clones */

/* ERF_C[j][k]: coefficient of t^(6 - j) on interval k = [k/2, (k+1)/2);
 * rows padded to 16 for the AVX-512 permute. */
static const float ERF_C[7][16] = {
    {-9.640585631e-06f, -6.498833955e-06f, 5.050009349e-06f, 2.206824092e-06f, -6.824093362e-07f, -4.068832311e-07f, -6.652282281e-08f, -5.007847026e-09f},
    {7.647182792e-05f, -5.005851563e-05f, -4.568079385e-05f, 5.829416295e-06f, 1.033323224e-05f, 2.759620429e-06f, 3.248142093e-07f, 1.973021391e-08f},
    {4.958920181e-04f, 5.885899882e-04f, -2.398517063e-05f, -1.879084157e-04f, -7.455779269e-05f, -1.272589270e-05f, -1.118318437e-06f, -5.391523672e-08f},
    {-4.829944111e-03f, 4.176116490e-04f, 2.617548453e-03f, 1.409026328e-03f, 3.394839296e-04f, 4.309696305e-05f, 3.050308806e-06f, 1.236225984e-07f},
    {-1.656270400e-02f, -3.013738990e-02f, -1.847822219e-02f, -5.772264209e-03f, -1.004386926e-03f, -1.007665414e-04f, -5.929157396e-06f, -2.066047102e-07f},
    {2.650034130e-01f, 1.607328802e-01f, 5.913030729e-02f, 1.319370884e-02f, 1.785575063e-03f, 1.465735695e-04f, 7.298409855e-06f, 2.204712075e-07f},
    {2.763263881e-01f, 7.111556530e-01f, 9.229001403e-01f, 9.866716862e-01f, 9.985373020e-01f, 9.998993874e-01f, 9.999957085e-01f, 9.999998808e-01f},
};

/* erf(|x|) for float x, branch-free (see the file comment), the Horner
 * steps fused (fmaf: the vector forms' vfmadd). NaN: c = 4, a value of 1
 * (GELU of NaN is NaN through h below). */
static inline float erf_abs(float x) {
    float a = fabsf(x);
    float c = a < 4.0f ? a : 4.0f;
    int k = (int)(c * 2.0f);
    k = k < 7 ? k : 7;
    float t = fmaf(c, 4.0f, -(float)(2 * k + 1));   /* c * 4 - (2k + 1), c * 4 exact */
    float p = ERF_C[0][k];
    for (int j = 1; j < 7; j++) p = fmaf(p, t, ERF_C[j][k]);
    float r = c < 4.0f ? p : 1.0f;
    return r < 1.0f ? r : 1.0f;
}

/* GELU(v) = v (1 + erf(v / sqrt 2)) / 2 = h + |h| erf(|v| / sqrt 2) with
 * h = v / 2 (erf is odd), one fused step. */
TQ_HOT static void gelu_erf(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], h = 0.5f * v;
        x[i] = fmaf(fabsf(h), erf_abs(v * 0.70710678118654752f), h);
    }
}

void tq_gelu_erf_ref(float *x, int64_t n) { gelu_erf(x, n); }

/* 2: AVX-512 F, 1: AVX2 (+ FMA, as the kernels' avx2 ISA), 0: neither (or
 * TRUEQ_ISA=portable); decided once. */
static int vec_level(void) {
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        tq_kisa isa = tq_kern_isa(NULL);
        v = isa == TQ_KISA_AVX512 ? 2 : isa == TQ_KISA_AVX2 ? 1 : 0;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

int tq_vec_avx512(void) { return vec_level() == 2; }
int tq_vec_avx2(void) { return vec_level() >= 1; }

/* (clones of static functions: clang does not clone an exported one) */
TQ_HOT static void vec_add(float *y, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = y[i] + b[i];
}

TQ_HOT static void vec_div(float *y, float d, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = y[i] / d;
}

uint32_t tq_absmax_bits(const float *x, int64_t n) {
    uint32_t mb = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        u &= 0x7fffffffu;
        mb = u > mb ? u : mb;
    }
    return mb;
}

void tq_vec_add(float *y, const float *b, int64_t n) { vec_add(y, b, n); }
void tq_vec_div(float *y, float d, int64_t n) { vec_div(y, d, n); }

#if defined(__x86_64__)
#define TGT512 __attribute__((target("avx512f")))

/* gelu_erf on one vector: erf_abs's steps, in its order; each lane's
 * coefficients picked from a register by its interval k (vpermps). */
TGT512 static inline __attribute__((always_inline)) __m512 gelu16(__m512 v) {
    const __m512i absm = _mm512_set1_epi32(0x7fffffff);
    const __m512 one = _mm512_set1_ps(1.0f), four = _mm512_set1_ps(4.0f);
    __m512 x = _mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f));
    __m512 a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), absm));
    __m512 c = _mm512_min_ps(a, four);   /* a < 4 ? a : 4 (NaN: 4) */
    __m512i k = _mm512_min_epi32(_mm512_cvttps_epi32(_mm512_mul_ps(c, _mm512_set1_ps(2.0f))), _mm512_set1_epi32(7));
    __m512 odd = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_slli_epi32(k, 1), _mm512_set1_epi32(1)));
    __m512 t = _mm512_fmsub_ps(c, four, odd);
    __m512 p = _mm512_permutexvar_ps(k, _mm512_loadu_ps(ERF_C[0]));
    for (int j = 1; j < 7; j++) p = _mm512_fmadd_ps(p, t, _mm512_permutexvar_ps(k, _mm512_loadu_ps(ERF_C[j])));
    __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(c, four, _CMP_LT_OQ), one, p);
    r = _mm512_min_ps(r, one);   /* r < 1 ? r : 1 */
    __m512 h = _mm512_mul_ps(_mm512_set1_ps(0.5f), v);
    return _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(h), absm)), r, h);
}

/* The sign-cleared bits of a vector, compared as unsigned: the quantizer's
 * max |x| (kern.h, tq_kact_row_max). */
TGT512 static inline __attribute__((always_inline)) __m512i absbits16(__m512 v) {
    return _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff));
}

TGT512 static inline __attribute__((always_inline)) uint32_t gelu512(float *x, int64_t n, const int want) {
    __m512i mb = _mm512_setzero_si512();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a = gelu16(_mm512_loadu_ps(x + i)), b = gelu16(_mm512_loadu_ps(x + i + 16));
        __m512 c = gelu16(_mm512_loadu_ps(x + i + 32)), d = gelu16(_mm512_loadu_ps(x + i + 48));
        _mm512_storeu_ps(x + i, a);
        _mm512_storeu_ps(x + i + 16, b);
        _mm512_storeu_ps(x + i + 32, c);
        _mm512_storeu_ps(x + i + 48, d);
        if (want)
            mb = _mm512_max_epu32(mb, _mm512_max_epu32(_mm512_max_epu32(absbits16(a), absbits16(b)),
                                                       _mm512_max_epu32(absbits16(c), absbits16(d))));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 g = gelu16(_mm512_maskz_loadu_ps(m, x + i));
        _mm512_mask_storeu_ps(x + i, m, g);
        if (want) mb = _mm512_mask_max_epu32(mb, m, mb, absbits16(g));
    }
    return want ? (uint32_t)_mm512_reduce_max_epu32(mb) : 0;
}

TGT512 void tq_gelu_erf_avx512(float *x, int64_t n) { (void)gelu512(x, n, 0); }   /* four independent chains */

TGT512 uint32_t tq_gelu_erf_max_avx512(float *x, int64_t n) { return gelu512(x, n, 1); }

#define TGT2 __attribute__((target("avx2,fma")))

/* gelu16's steps in 8 lanes (the eight intervals fit vpermps's 8 entries). */
TGT2 static inline __attribute__((always_inline)) __m256 gelu8(__m256 v) {
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 one = _mm256_set1_ps(1.0f), four = _mm256_set1_ps(4.0f);
    __m256 x = _mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f));
    __m256 a = _mm256_and_ps(x, absm);
    __m256 c = _mm256_min_ps(a, four);
    __m256i k = _mm256_min_epi32(_mm256_cvttps_epi32(_mm256_mul_ps(c, _mm256_set1_ps(2.0f))), _mm256_set1_epi32(7));
    __m256 odd = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_slli_epi32(k, 1), _mm256_set1_epi32(1)));
    __m256 t = _mm256_fmsub_ps(c, four, odd);
    __m256 p = _mm256_permutevar8x32_ps(_mm256_loadu_ps(ERF_C[0]), k);
    for (int j = 1; j < 7; j++) p = _mm256_fmadd_ps(p, t, _mm256_permutevar8x32_ps(_mm256_loadu_ps(ERF_C[j]), k));
    __m256 r = _mm256_blendv_ps(one, p, _mm256_cmp_ps(c, four, _CMP_LT_OQ));
    r = _mm256_min_ps(r, one);
    __m256 h = _mm256_mul_ps(_mm256_set1_ps(0.5f), v);
    return _mm256_fmadd_ps(_mm256_and_ps(h, absm), r, h);
}

TGT2 void tq_gelu_erf_avx2(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = gelu8(_mm256_loadu_ps(x + i)), b = gelu8(_mm256_loadu_ps(x + i + 8));
        _mm256_storeu_ps(x + i, a);
        _mm256_storeu_ps(x + i + 8, b);
    }
    if (i < n) gelu_erf(x + i, n - i);   /* the tail by the C loop: the same bytes */
}
#else
uint32_t tq_gelu_erf_max_avx512(float *x, int64_t n) {
    gelu_erf(x, n);
    return tq_absmax_bits(x, n);
}
void tq_gelu_erf_avx512(float *x, int64_t n) { gelu_erf(x, n); }
void tq_gelu_erf_avx2(float *x, int64_t n) { gelu_erf(x, n); }
#endif

TQ_HOT static void relu(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void tq_enc_activate(float *x, int64_t n, tq_enc_act act) {
    switch (act) {
    case TQ_ACT_GELU:
        if (tq_vec_avx512()) tq_gelu_erf_avx512(x, n);
        else if (tq_vec_avx2()) tq_gelu_erf_avx2(x, n);
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

TQ_GGML_BODY void swiglu_ggml(float *h, const float *g, const float *u, int n) {
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

#if TQ_GGML_FMA_PATH
int tq_ggml_fma_path(void) {
    return tq_kern_isa(NULL) != TQ_KISA_PORTABLE && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

TQ_GGML_FMA_TARGET static void swiglu_ggml_fma(float *h, const float *g, const float *u, int n) { swiglu_ggml(h, g, u, n); }
#endif

void tq_llama_swiglu_ggml(float *h, const float *g, const float *u, int n) {
#if TQ_GGML_FMA_PATH
    if (tq_ggml_fma_path()) {
        swiglu_ggml_fma(h, g, u, n);
        return;
    }
#endif
    swiglu_ggml(h, g, u, n);
}
