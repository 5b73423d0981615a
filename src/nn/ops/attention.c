/*
 * attention.c — softmax and scaled dot-product attention, the encoder's
 * bidirectional form (masked, one sequence) and the decoder's causal
 * grouped-query form over a KV cache. Fixed summation orders.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include "nn/ops/ggml_ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   /* the ggml steps round as written: fmaf where ggml fuses, nothing else */
#endif

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


/* ggml_vec_dot_f32 of the AVX2 + FMA build over n terms x[i * sx] y[i]:
 * sum[j] lane l takes i = 32 s + 8 j + l by FMA, then sum0 + sum2, sum1 +
 * sum3, their sum, the halves added, then two horizontal adds; the tail (n %
 * 32) added one product at a time (gcc contracts it to FMA). */
TQ_GGML_BODY float ggml_dot_f32(const float *x, size_t sx, const float *y, int n) {
    float s[4][8] = {{0}};
    int np = n & ~31, i = 0;
    for (; i < np; i += 32)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 8; l++) s[j][l] = fmaf(x[(size_t)(i + 8 * j + l) * sx], y[i + 8 * j + l], s[j][l]);
    float v[8], t0[4];
    for (int l = 0; l < 8; l++) v[l] = (s[0][l] + s[2][l]) + (s[1][l] + s[3][l]);
    for (int l = 0; l < 4; l++) t0[l] = v[l] + v[l + 4];
    float sum = (t0[0] + t0[1]) + (t0[2] + t0[3]);
    for (; i < n; i++) sum = fmaf(x[(size_t)i * sx], y[i], sum);
    return sum;
}

/* out[i] = ggml_vec_dot_f32 over the positions of v[t * kv_stride + i] and
 * p[t], for i in [0, head_size): lane class c = t % 32 (sum[c / 8] lane c %
 * 8) takes t = c, c + 32, ... by FMA in order, then the classes are folded
 * as ggml_dot_f32 folds its lanes (classes with no position stay 0: the zero
 * terms of the padded cells). The positions run in order, each adding its
 * row (ATT_VB dimensions at a time) to its class's sums: the V rows are
 * read as one stream, and each sum gets the same terms in the same order as
 * one dimension at a time. */
#define ATT_VB 64
TQ_GGML_BODY void ggml_att_v(float *out, const float *v, const float *p, int n_pos, int head_size, int kv_stride) {
    float S[32][ATT_VB];
    for (int i0 = 0; i0 < head_size; i0 += ATT_VB) {
        int nd = head_size - i0 < ATT_VB ? head_size - i0 : ATT_VB;
        memset(S, 0, sizeof S);
        for (int t = 0; t < n_pos; t++) {
            const float *vr = v + (size_t)t * kv_stride + i0;
            float *a = S[t & 31];
            const float pt = p[t];
            if (nd == ATT_VB)
                for (int d = 0; d < ATT_VB; d++) a[d] = fmaf(vr[d], pt, a[d]);
            else
                for (int d = 0; d < nd; d++) a[d] = fmaf(vr[d], pt, a[d]);
        }
        for (int d = 0; d < nd; d++) {
            float w[8], t0[4];
            for (int l = 0; l < 8; l++) w[l] = (S[l][d] + S[16 + l][d]) + (S[8 + l][d] + S[24 + l][d]);
            for (int l = 0; l < 4; l++) t0[l] = w[l] + w[l + 4];
            out[i0 + d] = (t0[0] + t0[1]) + (t0[2] + t0[3]);
        }
    }
}

TQ_GGML_BODY void attention_ggml(float *out, const float *q, const float *kc, const float *vc, int n_pos, int n_heads,
                                  int n_kv_heads, int head_size, int kv_stride, float *scratch) {
    int group = n_heads / n_kv_heads;
    float scale = (float)(1.0 / sqrt((double)head_size));
    /* positions beyond n_pos are ggml's masked cells: probability 0, so the
     * products over them add nothing (ggml_att_v's empty lane classes) */
    for (int h = 0; h < n_heads; h++) {
        const float *qh = q + (size_t)h * head_size;
        size_t koff = (size_t)(h / group) * head_size;
        float mx = -INFINITY;
        for (int t = 0; t < n_pos; t++) {
            scratch[t] = ggml_dot_f32(kc + (size_t)t * kv_stride + koff, 1, qh, head_size) * scale;
            if (scratch[t] > mx) mx = scratch[t];
        }
        double sum = 0.0;
        for (int t0 = 0; t0 < n_pos; t0 += 8) {
            float e[8] = {0};
            for (int l = 0; l < 8 && t0 + l < n_pos; l++) e[l] = scratch[t0 + l] = tq_ggml_expf_lane(scratch[t0 + l] - mx);
            float a0 = e[0] + e[4], a1 = e[1] + e[5], a2 = e[2] + e[6], a3 = e[3] + e[7];
            sum += (double)((a0 + a2) + (a1 + a3));
        }
        float inv = (float)(1.0 / sum);
        for (int t = 0; t < n_pos; t++) scratch[t] *= inv;
        ggml_att_v(out + (size_t)h * head_size, vc + koff, scratch, n_pos, head_size, kv_stride);
    }
}

#if TQ_GGML_FMA_PATH
TQ_GGML_FMA_TARGET static void attention_ggml_fma(float *out, const float *q, const float *kc, const float *vc, int n_pos,
                                                  int n_heads, int n_kv_heads, int head_size, int kv_stride,
                                                  float *scratch) {
    attention_ggml(out, q, kc, vc, n_pos, n_heads, n_kv_heads, head_size, kv_stride, scratch);
}
#endif

void tq_llama_attention_ggml(float *out, const float *q, const float *kc, const float *vc, int n_pos, int n_heads,
                             int n_kv_heads, int head_size, int kv_stride, float *scratch) {
#if TQ_GGML_FMA_PATH
    if (tq_ggml_fma_path()) {
        attention_ggml_fma(out, q, kc, vc, n_pos, n_heads, n_kv_heads, head_size, kv_stride, scratch);
        return;
    }
#endif
    attention_ggml(out, q, kc, vc, n_pos, n_heads, n_kv_heads, head_size, kv_stride, scratch);
}
