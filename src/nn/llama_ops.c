/*
 * llama_ops.c — the decoder's building blocks: RMSNorm, RoPE, grouped-query
 * attention, SwiGLU, softmax, argmax and the sampler.
 *
 * Every reduction runs in one fixed order (no threads, no reassociation), so
 * results are reproducible to the bit on a given machine whatever the thread
 * count. Norms and softmax sums accumulate in double; attention in float.
 */
#include "core/internal.h"
#include "trueq_llama.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void tq_llama_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double inv = 1.0 / sqrt(ss / n + (double)eps);
    for (int i = 0; i < n; i++) out[i] = (float)((double)w[i] * ((double)x[i] * inv));
}

void tq_llama_rope_scaled(float *v, int n_heads, int head_size, int pos, float theta, int half_layout,
                          const float *factors, float mscale) {
    int half = head_size / 2;
    for (int j = 0; j < half; j++) {
        double freq = pow((double)theta, -2.0 * j / head_size);
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

void tq_llama_rope(float *v, int n_heads, int head_size, int pos, float theta, int half_layout) {
    tq_llama_rope_scaled(v, n_heads, head_size, pos, theta, half_layout, NULL, 1.0f);
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
            float dot = 0.0f;
            for (int i = 0; i < head_size; i++) dot += qh[i] * k[i];
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

void tq_llama_swiglu(float *h, const float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) {
        float x = g[i];
        h[i] = x / (1.0f + expf(-x)) * u[i];
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

int tq_llama_argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

/* xorshift64* — a small, well-mixed generator; the state must not be 0. */
static uint64_t rng_next(uint64_t *s) {
    if (*s == 0) *s = 0x9E3779B97F4A7C15ull;
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* uniform in [0, 1) with 53 random bits */
static double rng_uniform(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

typedef struct { float p; int i; } prob_idx;
static int cmp_prob_desc(const void *a, const void *b) {
    const prob_idx *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int tq_llama_sample(const float *logits, int n, float temperature, float top_p,
                    uint64_t *rng, float *scratch) {
    if (temperature <= 0.0f || n <= 1) return tq_llama_argmax(logits, n);
    for (int i = 0; i < n; i++) scratch[i] = logits[i] / temperature;
    tq_llama_softmax(scratch, n);
    double r = rng_uniform(rng);
    if (top_p > 0.0f && top_p < 1.0f) {
        prob_idx *pi = malloc(sizeof *pi * (size_t)n);
        if (pi) {   /* without memory, fall back to the full distribution */
            for (int i = 0; i < n; i++) { pi[i].p = scratch[i]; pi[i].i = i; }
            qsort(pi, (size_t)n, sizeof *pi, cmp_prob_desc);
            double mass = 0.0;
            int k = 0;
            while (k < n && mass < top_p) mass += pi[k++].p;
            double cum = 0.0, target = r * mass;
            int pick = pi[k - 1].i;
            for (int i = 0; i < k; i++) {
                cum += pi[i].p;
                if (target < cum) { pick = pi[i].i; break; }
            }
            free(pi);
            return pick;
        }
    }
    double cum = 0.0;
    for (int i = 0; i < n; i++) {
        cum += scratch[i];
        if (r < cum) return i;
    }
    return tq_llama_argmax(scratch, n);   /* rounding left r beyond the total */
}
