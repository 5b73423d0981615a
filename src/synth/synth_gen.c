/*
 * synth_gen.c — the weights of the synthetic models: tq_synth_gen draws one
 * tensor of a tq_synth_spec from its own deterministic stream.
 *
 * Weight statistics imitate a trained model rather than an initialisation:
 *   - matrices: Gaussian entries (std 0.04) in a scale mixture (3% of entries
 *     with 4x the scale: heavy tails), a few outlier input channels (x6), plus
 *     a low-rank component U diag(s) V^T with power-law s_k ~ k^-0.7, so the
 *     spectra are heavy-tailed like trained layers;
 *   - word embeddings std 0.05 with frequent (low-id) tokens larger; position
 *     embeddings smooth in the position;
 *   - LayerNorm gains ~ N(0.9, 0.08), biases ~ N(0, 0.02).
 * Each tensor is drawn from its own stream, seeded by (seed, name). Only IEEE
 * +, -, *, / and sqrt are used, in a fixed order (no libm transcendental
 * functions, whose results vary between CPU-specific variants, and no BLAS,
 * whose summation order varies with threads and kernels), so the output is
 * byte-identical for a given seed on any machine.
 */
#include "synth/synth_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng { uint64_t s[4]; } rng;
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t next(rng *r) {   /* xoshiro256** */
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}
static void seed_rng(rng *r, uint64_t seed, const char *name) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (int i = 0; i < 4; i++) {   /* splitmix64 */
        uint64_t z = (h += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        r->s[i] = z ^ (z >> 31);
    }
}
static double uni(rng *r) { return ((next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
/* An approximately normal variate from the sum of four uniforms (Irwin-Hall,
 * rescaled to unit variance): arithmetic only, so it is the same everywhere. */
static float gauss1(rng *r) {
    double t = uni(r) + uni(r) + uni(r) + uni(r) - 2.0;
    return (float)(t * 1.7320508075688772);   /* sqrt(12/4) */
}
static void fill_gauss(rng *r, float *x, int64_t n, float mean, float std) {
    for (int64_t i = 0; i < n; i++) x[i] = mean + std * gauss1(r);
}

static tq_status gen_matrix(rng *r, float *w, int64_t rows, int64_t cols, float std, tq_error *err) {
    fill_gauss(r, w, rows * cols, 0.0f, std);
    for (int64_t i = 0; i < rows * cols; i++)          /* scale mixture: heavy tails */
        if ((next(r) & 1023) < 31) w[i] *= 4.0f;
    for (int k = 0; k < 4; k++) {                      /* outlier input channels */
        int64_t c = (int64_t)(next(r) % (uint64_t)cols);
        for (int64_t i = 0; i < rows; i++) w[i * cols + c] *= 6.0f;
    }
    int64_t rank = 24;                                 /* power-law low-rank part */
    float *U = malloc(sizeof(float) * (size_t)(rows * rank)), *V = malloc(sizeof(float) * (size_t)(cols * rank));
    if (!U || !V) { free(U); free(V); return tq_err(err, TQ_E_NOMEM, "synth: out of memory"); }
    fill_gauss(r, U, rows * rank, 0.0f, 1.0f);        /* U [rows, rank] */
    fill_gauss(r, V, rank * cols, 0.0f, 1.0f);        /* V [rank, cols] */
    double base = 2.5 * std * sqrt((double)(rows > cols ? rows : cols)) / sqrt((double)rows * (double)cols);
    for (int64_t k = 0; k < rank; k++) {
        double kk = (double)(k + 1);
        float s = (float)(base / sqrt(sqrt(kk * kk * kk)));   /* s_k = base * k^-3/4 */
        for (int64_t i = 0; i < rows; i++) U[i * rank + k] *= s;
    }
    /* W += U V, in a fixed order (k outer per row, columns inner: vectorizes) */
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < rank; k++) {
            const float u = U[i * rank + k];
            const float *v = V + k * cols;
            float *wr = w + i * cols;
            for (int64_t c = 0; c < cols; c++) wr[c] += u * v[c];
        }
    free(U); free(V);
    return TQ_OK;
}


tq_status tq_synth_gen(uint64_t seed, const tq_synth_spec *s, float *w, tq_error *err) {
    rng r;
    seed_rng(&r, seed, s->name);
    int64_t n = s->rows ? s->rows * s->cols : s->cols;
    switch (s->k) {
    case TQ_SK_MATRIX: return gen_matrix(&r, w, s->rows, s->cols, s->std, err);
    case TQ_SK_BIAS: fill_gauss(&r, w, n, 0.0f, s->std); return TQ_OK;
    case TQ_SK_GAIN: fill_gauss(&r, w, n, 0.9f, 0.08f); return TQ_OK;
    case TQ_SK_WORDEMB:
        fill_gauss(&r, w, n, 0.0f, s->std);
        for (int64_t i = 0; i < s->rows; i++) {      /* frequent tokens (low ids past specials) have larger norms */
            float f = i < 1000 ? 1.6f : i < 10000 ? 1.0f : 0.8f;
            for (int64_t c = 0; c < s->cols; c++) w[i * s->cols + c] *= f;
        }
        return TQ_OK;
    case TQ_SK_POSEMB: {
        /* smooth in the position: a per-channel base times a triangle wave */
        float *base = malloc(sizeof(float) * (size_t)s->cols);
        if (!base) return tq_err(err, TQ_E_NOMEM, "synth: out of memory");
        fill_gauss(&r, base, s->cols, 0.0f, s->std);
        for (int64_t p = 0; p < s->rows; p++)
            for (int64_t c = 0; c < s->cols; c++) {
                int64_t period = 2 * (c % 17 + 8);
                double ph = (double)(p % period) / (double)period;          /* [0, 1) */
                double tri = ph < 0.5 ? 4.0 * ph - 1.0 : 3.0 - 4.0 * ph;   /* [-1, 1] */
                w[p * s->cols + c] = base[c] * (float)tri + 0.005f * gauss1(&r);
            }
        free(base);
        return TQ_OK;
    }
    }
    return TQ_OK;
}
