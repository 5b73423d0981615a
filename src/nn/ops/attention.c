/*
 * attention.c — softmax and scaled dot-product attention, the encoder's
 * bidirectional form (masked, one sequence) and the decoder's causal
 * grouped-query form over a KV cache. Fixed summation orders.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif

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

void tq_llama_softmax(float *x, int n) {
    if (n <= 0) return;
    float mx = x[0];
    for (int i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
    double sum = 0.0;
    for (int i = 0; i < n; i++) { x[i] = expf(x[i] - mx); sum += x[i]; }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

void tq_llama_attention(float *out, const float *q, const float *kc, const float *vc,
                        int n_pos, int n_heads, int n_kv_heads, int head_size,
                        int kv_stride, float *scratch) {
    int group = n_heads / n_kv_heads;
    float scale = (float)(1.0 / sqrt((double)head_size));
    for (int h = 0; h < n_heads; h++) {
        const float *qh = q + (size_t)h * head_size;
        size_t koff = (size_t)(h / group) * head_size;
        for (int t = 0; t < n_pos; t++) {
            const float *k = kc + (size_t)t * kv_stride + koff;
            /* eight partial sums (lane i % 8), then added in a fixed tree: the
             * same bytes on any machine, and one vector lane each (a single
             * running sum is a chain of dependent adds the compiler must keep) */
            float acc[8] = {0};
            int i = 0;
            for (; i + 8 <= head_size; i += 8)
                for (int j = 0; j < 8; j++) acc[j] += qh[i + j] * k[i + j];
            for (; i < head_size; i++) acc[0] += qh[i] * k[i];
            float dot = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
            scratch[t] = dot * scale;
        }
        tq_llama_softmax(scratch, n_pos);
        /* positions outer, dimensions inner: each out[i] still sums over t in order */
        float *oh = out + (size_t)h * head_size;
        memset(oh, 0, sizeof(float) * (size_t)head_size);
        for (int t = 0; t < n_pos; t++) {
            const float *v = vc + (size_t)t * kv_stride + koff;
            float p = scratch[t];
            for (int i = 0; i < head_size; i++) oh[i] += p * v[i];
        }
    }
}

