/*
 * norm.c — the norms both families use: LayerNorm (encoders, trueq_nn.h)
 * and RMSNorm (decoders, trueq_llama.h). Sums run in double in a fixed
 * order, so results do not depend on threads or the build's vector width.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include "nn/ops/ggml_ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Compiled as the activations are (act.c), so the encoder's bytes stay
 * what they were when both lived in one file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif

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
