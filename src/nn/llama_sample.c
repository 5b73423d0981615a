/*
 * llama_sample.c — the decoder's next-token choice: argmax and the
 * temperature / top-p sampler (the shared ops live in nn/ops/).
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
