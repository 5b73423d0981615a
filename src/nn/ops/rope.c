/*
 * rope.c — rotary position embeddings (trueq_llama.h): pair layouts
 * (2j, 2j+1) and (j, j + head_size/2), plain and LongRoPE-scaled. Angles in
 * double; a table of one position's cos/sin serves every layer (tq_llama_rope_table).
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include "nn/ops/ggml_ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void tq_llama_rope_table(double *cs, int rope_dim, int pos, float theta, const float *factors, float mscale) {
    for (int j = 0; j < rope_dim / 2; j++) {
        double freq = pow((double)theta, -2.0 * j / rope_dim);
        if (factors) freq /= (double)factors[j];
        double ang = (double)pos * freq;
        cs[2 * j] = cos(ang) * mscale;
        cs[2 * j + 1] = sin(ang) * mscale;
    }
}

void tq_llama_rope_apply(float *v, int n_heads, int head_size, int rope_dim, int half_layout, const double *cs) {
    int half = rope_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *p = v + (size_t)h * head_size;
        for (int j = 0; j < half; j++) {
            double c = cs[2 * j], s = cs[2 * j + 1];
            int a = half_layout ? j : 2 * j;
            int b = half_layout ? j + half : 2 * j + 1;
            double x0 = p[a], x1 = p[b];
            p[a] = (float)(x0 * c - x1 * s);
            p[b] = (float)(x0 * s + x1 * c);
        }
    }
}

void tq_llama_rope_partial(float *v, int n_heads, int head_size, int rope_dim, int pos, float theta, int half_layout,
                           const float *factors, float mscale) {
    int half = rope_dim / 2;
    for (int j = 0; j < half; j++) {
        double freq = pow((double)theta, -2.0 * j / rope_dim);
        if (factors) freq /= (double)factors[j];
        double ang = (double)pos * freq;
        double c = cos(ang) * mscale, s = sin(ang) * mscale;
        for (int h = 0; h < n_heads; h++) {
            float *p = v + (size_t)h * head_size;
            int a = half_layout ? j : 2 * j;
            int b = half_layout ? j + half : 2 * j + 1;
            double x0 = p[a], x1 = p[b];
            p[a] = (float)(x0 * c - x1 * s);
            p[b] = (float)(x0 * s + x1 * c);
        }
    }
}

void tq_llama_rope_scaled(float *v, int n_heads, int head_size, int pos, float theta, int half_layout,
                          const float *factors, float mscale) {
    tq_llama_rope_partial(v, n_heads, head_size, head_size, pos, theta, half_layout, factors, mscale);
}

void tq_llama_rope(float *v, int n_heads, int head_size, int pos, float theta, int half_layout) {
    tq_llama_rope_scaled(v, n_heads, head_size, pos, theta, half_layout, NULL, 1.0f);
}


void tq_llama_rope_table_ggml(double *cs, int rope_dim, int pos, float theta_base, const float *factors, float mscale) {
    const float theta_scale = powf(theta_base, -2.0f / (float)rope_dim);
    float theta = (float)pos;
    for (int j = 0; j < rope_dim / 2; j++) {
        float t = factors ? theta / factors[j] : theta;
        cs[2 * j] = (double)(cosf(t) * mscale);
        cs[2 * j + 1] = (double)(sinf(t) * mscale);
        theta *= theta_scale;
    }
}

TQ_GGML_BODY void rope_apply_ggml(float *v, int n_heads, int head_size, int rope_dim, int half_layout, const double *cs) {
    int half = rope_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *p = v + (size_t)h * head_size;
        for (int j = 0; j < half; j++) {
            float c = (float)cs[2 * j], s = (float)cs[2 * j + 1];
            int a = half_layout ? j : 2 * j, b = half_layout ? j + half : 2 * j + 1;
            float x0 = p[a], x1 = p[b];
/* the AVX2 + FMA build of ggml (gcc contracts) fuses the x0 products */
            p[a] = fmaf(x0, c, -(x1 * s));
            p[b] = fmaf(x0, s, x1 * c);
        }
    }
}

#if TQ_GGML_FMA_PATH
/* the FMA build (ggml_ops.h): fmaf one instruction instead of a libm call */
TQ_GGML_FMA_TARGET static void rope_apply_ggml_fma(float *v, int n_heads, int head_size, int rope_dim, int half_layout,
                                                   const double *cs) {
    rope_apply_ggml(v, n_heads, head_size, rope_dim, half_layout, cs);
}
#endif

void tq_llama_rope_apply_ggml(float *v, int n_heads, int head_size, int rope_dim, int half_layout, const double *cs) {
#if TQ_GGML_FMA_PATH
    if (tq_ggml_fma_path()) {
        rope_apply_ggml_fma(v, n_heads, head_size, rope_dim, half_layout, cs);
        return;
    }
#endif
    rope_apply_ggml(v, n_heads, head_size, rope_dim, half_layout, cs);
}
