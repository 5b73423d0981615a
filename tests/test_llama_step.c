/*
 * test_llama_step.c — what the one-token forward pass's split over the pool
 * (src/nn/llama_step.c) rests on, byte for byte:
 *  - ggml-step attention's values summed position after position, 64
 *    dimensions at a time (attention.c, ggml_att_v), equal
 *    ggml_vec_dot_f32 over the positions taken one dimension at a time, as
 *    written out here (head sizes of one block, two blocks and a short one;
 *    position counts across the 32 lane classes);
 *  - attention (both forms) run one head at a time, as the pool's tasks
 *    run it, equals the call over every head (grouped heads).
 * The thread-count invariance of the whole step is test_llama_batch's
 * (SmolLM2, 1/2/3 threads).
 */
#include "tq_test.h"
#include "nn/ops/ggml_ops.h"
#include "trueq_llama.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   /* the reference rounds as written */
#endif

/* ggml_vec_dot_f32 (AVX2 + FMA build) of x[i * sx] y[i] over n: term i of the first n & ~31 goes
 * to lane class i % 32 by FMA (sum[c / 8] lane c % 8 there), the classes folded as (c, c + 16) +
 * (c + 8, c + 24), then halves and pairs; the tail by FMA one term at a time */
static float fold32(const float *c) {
    float v[8], t[4];
    for (int l = 0; l < 8; l++) v[l] = (c[l] + c[16 + l]) + (c[8 + l] + c[24 + l]);
    for (int l = 0; l < 4; l++) t[l] = v[l] + v[l + 4];
    return (t[0] + t[1]) + (t[2] + t[3]);
}

static float ref_dot(const float *x, size_t sx, const float *y, int n) {
    float c[32] = {0};
    int np = n & ~31, i = 0;
    for (; i < np; i++) c[i % 32] = fmaf(x[(size_t)i * sx], y[i], c[i % 32]);
    float sum = fold32(c);
    for (; i < n; i++) sum = fmaf(x[(size_t)i * sx], y[i], sum);
    return sum;
}

/* ggml's attention for one token, one output dimension at a time (the
 * form attention.c had before its values ran row by row) */
static void ref_attention(float *out, const float *q, const float *kc, const float *vc, int n_pos, int n_heads,
                          int n_kv, int hs, int stride, float *p) {
    int group = n_heads / n_kv;
    float scale = (float)(1.0 / sqrt((double)hs));
    for (int h = 0; h < n_heads; h++) {
        size_t koff = (size_t)(h / group) * hs;
        float mx = -INFINITY;
        for (int t = 0; t < n_pos; t++) {
            p[t] = ref_dot(kc + (size_t)t * stride + koff, 1, q + (size_t)h * hs, hs) * scale;
            if (p[t] > mx) mx = p[t];
        }
        double sum = 0.0;
        for (int t0 = 0; t0 < n_pos; t0 += 8) {
            float e[8] = {0};
            for (int l = 0; l < 8 && t0 + l < n_pos; l++) e[l] = p[t0 + l] = tq_ggml_expf_lane(p[t0 + l] - mx);
            sum += (double)(((e[0] + e[4]) + (e[2] + e[6])) + ((e[1] + e[5]) + (e[3] + e[7])));
        }
        float inv = (float)(1.0 / sum);
        for (int t = 0; t < n_pos; t++) p[t] *= inv;
        /* values: ggml's dot over the positions padded to a multiple of 32 (zero terms there), i.e.
         * every position in its lane class */
        for (int i = 0; i < hs; i++) {
            float cl[32] = {0};
            for (int t = 0; t < n_pos; t++) cl[t % 32] = fmaf(vc[(size_t)t * stride + koff + i], p[t], cl[t % 32]);
            out[(size_t)h * hs + i] = fold32(cl);
        }
    }
}

typedef void (*att_fn)(float *, const float *, const float *, const float *, int, int, int, int, int, float *);

static void attention(void) {
    TQ_CASE("attention: ggml's values row by row == one dimension at a time; one head at a time == all heads");
    static const struct { int n_heads, n_kv, hs; } SH[] = {{9, 3, 64}, {2, 1, 96}, {4, 2, 40}, {3, 1, 24}, {2, 2, 8}};
    static const att_fn FN[2] = {tq_llama_attention_ggml, tq_llama_attention};
    uint64_t rng = 7;
    int bad_ref = 0, bad_head = 0, n_total = 0;
    for (size_t s = 0; s < sizeof SH / sizeof SH[0]; s++) {
        int nh = SH[s].n_heads, nkv = SH[s].n_kv, hs = SH[s].hs, stride = nkv * hs, group = nh / nkv;
        for (int np = 1; np <= 200; np += np < 70 ? 1 : 41) {
            size_t nq = (size_t)nh * hs, nc = (size_t)np * stride;
            float *q = malloc(sizeof(float) * nq), *kc = malloc(sizeof(float) * nc), *vc = malloc(sizeof(float) * nc);
            float *oa = malloc(sizeof(float) * nq), *ob = malloc(sizeof(float) * nq);
            float *sc = malloc(sizeof(float) * (size_t)(np + 32));
            if (!q || !kc || !vc || !oa || !ob || !sc) { CHECK(0); return; }
            for (size_t i = 0; i < nq; i++) q[i] = tq_t_randn(&rng) * 2.0f;
            for (size_t i = 0; i < nc; i++) {
                kc[i] = tq_t_randn(&rng) * 2.0f;
                vc[i] = tq_t_randn(&rng);
            }
            ref_attention(ob, q, kc, vc, np, nh, nkv, hs, stride, sc);
            tq_llama_attention_ggml(oa, q, kc, vc, np, nh, nkv, hs, stride, sc);
            for (size_t i = 0; i < nq; i++) bad_ref += memcmp(&oa[i], &ob[i], 4) != 0;
            for (int f = 0; f < 2; f++) {
                FN[f](oa, q, kc, vc, np, nh, nkv, hs, stride, sc);
                for (int h = 0; h < nh; h++) {
                    size_t koff = (size_t)(h / group) * hs;
                    FN[f](ob + (size_t)h * hs, q + (size_t)h * hs, kc + koff, vc + koff, np, 1, 1, hs, stride, sc);
                }
                for (size_t i = 0; i < nq; i++) bad_head += memcmp(&oa[i], &ob[i], 4) != 0;
            }
            n_total += (int)nq;
            free(q); free(kc); free(vc); free(oa); free(ob); free(sc);
        }
    }
    CHECK_MSG(bad_ref == 0, "%d of %d ggml attention outputs differ from the one-dimension form", bad_ref, n_total);
    CHECK_MSG(bad_head == 0, "%d of %d outputs differ between one head at a time and all heads", bad_head, 2 * n_total);
}

void tq_tests(void) {
    attention();
}
