/* test_llama_ops.c — the decoder's layers against values worked out by hand. */
#include "tq_test.h"
#include "trueq_llama.h"
#include <stdlib.h>

static void t_rmsnorm(void) {
    TQ_CASE("rmsnorm: x / rms(x) * w");
    /* x = [1,2,3,4]: mean square 30/4 = 7.5, rms = sqrt(7.5) = 2.738612788 */
    float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 0.5f}, out[4];
    tq_llama_rmsnorm(out, x, w, 4, 0.0f);
    CHECK_NEAR(out[0], 0.365148372, 1e-6);
    CHECK_NEAR(out[1], 0.730296743, 1e-6);
    CHECK_NEAR(out[2], 2.190890230, 1e-6);   /* 3 / 2.7386 * 2 */
    CHECK_NEAR(out[3], 0.730296743, 1e-6);   /* 4 / 2.7386 * 0.5 */
    /* eps enters under the root: [3,4] -> mean square 12.5, + 0.5 = 13 */
    float y[2] = {3, 4}, one[2] = {1, 1};
    tq_llama_rmsnorm(y, y, one, 2, 0.5f);   /* in place */
    CHECK_NEAR(y[0], 3 / sqrt(13.0), 1e-6);
    CHECK_NEAR(y[1], 4 / sqrt(13.0), 1e-6);
}

static void t_rope(void) {
    TQ_CASE("rope: interleaved pairs, theta^(-2j/hs) frequencies");
    /* head_size 4, theta 100: pair 0 turns 1 rad per position, pair 1 100^(-1/2) = 0.1 rad */
    float v[8] = {1, 0, 0, 1, /* second head */ 2, 0, 0, 0};
    tq_llama_rope(v, 2, 4, 1, 100.0f, 0);
    CHECK_NEAR(v[0], 0.540302306, 1e-6);    /* (1,0) by 1 rad: (cos 1, sin 1) */
    CHECK_NEAR(v[1], 0.841470985, 1e-6);
    CHECK_NEAR(v[2], -0.099833417, 1e-6);   /* (0,1) by 0.1 rad: (-sin .1, cos .1) */
    CHECK_NEAR(v[3], 0.995004165, 1e-6);
    CHECK_NEAR(v[4], 2 * 0.540302306, 1e-6); /* every head turns alike */
    CHECK_NEAR(v[5], 2 * 0.841470985, 1e-6);
    CHECK_NEAR(v[6], 0, 1e-7);
    CHECK_NEAR(v[7], 0, 1e-7);

    TQ_CASE("rope: rotate-half pairs (j, j + hs/2)");
    float h[4] = {1, 0, 0, 1};
    tq_llama_rope(h, 1, 4, 1, 100.0f, 1);
    /* pair (h0,h2) = (1,0) by 1 rad; pair (h1,h3) = (0,1) by 0.1 rad */
    CHECK_NEAR(h[0], 0.540302306, 1e-6);
    CHECK_NEAR(h[2], 0.841470985, 1e-6);
    CHECK_NEAR(h[1], -0.099833417, 1e-6);
    CHECK_NEAR(h[3], 0.995004165, 1e-6);

    TQ_CASE("rope: position 0 is the identity; position 3 = three times 1");
    float z[4] = {0.3f, -0.7f, 1.1f, 0.2f}, z0[4];
    memcpy(z0, z, sizeof z);
    tq_llama_rope(z, 1, 4, 0, 10000.0f, 0);
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(z[i] == z0[i], 1);
    /* pair 0 at theta 10000, hs 4 has frequency 1: pos 3 turns (0.3,-0.7) by 3 rad */
    tq_llama_rope(z, 1, 4, 3, 10000.0f, 0);
    CHECK_NEAR(z[0], 0.3 * cos(3.0) + 0.7 * sin(3.0), 1e-6);
    CHECK_NEAR(z[1], 0.3 * sin(3.0) - 0.7 * cos(3.0), 1e-6);
    /* pair 1 has frequency 10000^(-1/2) = 0.01: turned by 0.03 rad */
    CHECK_NEAR(z[2], 1.1 * cos(0.03) - 0.2 * sin(0.03), 1e-6);
    CHECK_NEAR(z[3], 1.1 * sin(0.03) + 0.2 * cos(0.03), 1e-6);

    TQ_CASE("rope: LongRoPE factors divide the frequencies, mscale scales the result");
    float r[4] = {1, 0, 0, 1};
    const float fac[2] = {2, 4};
    tq_llama_rope_scaled(r, 1, 4, 1, 100.0f, 0, fac, (float)sqrt(3.0));
    /* pair 0: 1 rad / 2 = 0.5 rad; pair 1: 0.1 rad / 4 = 0.025 rad; both times sqrt(3) */
    CHECK_NEAR(r[0], 0.877582562 * 1.732050808, 1e-6);   /* cos 0.5 */
    CHECK_NEAR(r[1], 0.479425539 * 1.732050808, 1e-6);   /* sin 0.5 */
    CHECK_NEAR(r[2], -0.024997396 * 1.732050808, 1e-6);  /* -sin 0.025 */
    CHECK_NEAR(r[3], 0.999687510 * 1.732050808, 1e-6);   /* cos 0.025 */

    TQ_CASE("rope: q.k depends only on the distance of the positions");
    float q1[4] = {0.5f, 1, -1, 2}, k1[4] = {1, -0.5f, 0.25f, 1};
    float q2[4], k2[4];
    memcpy(q2, q1, sizeof q1); memcpy(k2, k1, sizeof k1);
    tq_llama_rope(q1, 1, 4, 7, 10000.0f, 0); tq_llama_rope(k1, 1, 4, 5, 10000.0f, 0);
    tq_llama_rope(q2, 1, 4, 12, 10000.0f, 0); tq_llama_rope(k2, 1, 4, 10, 10000.0f, 0);
    double d1 = 0, d2 = 0;
    for (int i = 0; i < 4; i++) { d1 += q1[i] * k1[i]; d2 += q2[i] * k2[i]; }
    CHECK_NEAR(d1, d2, 1e-5);
}

static void t_attention(void) {
    TQ_CASE("attention: grouped-query heads share K/V heads");
    /* 4 query heads, 2 KV heads (heads 0,1 -> KV 0; heads 2,3 -> KV 1), head_size 2, 2 positions.
     * Row t of the cache = [k of KV0 (2), k of KV1 (2)]. */
    float kc[2 * 4] = {1, 0, 0, 0,    /* t0: KV0 key (1,0), KV1 key (0,0) */
                       0, 1, 0, 0};   /* t1: KV0 key (0,1), KV1 key (0,0) */
    float vc[2 * 4] = {1, 2, 10, 20,  /* t0 */
                       3, 4, 30, 40}; /* t1 */
    double l3 = log(3.0) * sqrt(2.0);   /* q.k / sqrt(2) = ln 3 for key t0 */
    float q[8] = {(float)l3, 0,   0, 0,   5, -5,   -1, 7};
    float out[8], scratch[2];
    tq_llama_attention(out, q, kc, vc, 2, 4, 2, 2, 4, scratch);
    /* head 0: scores (ln 3, 0) -> weights (3/4, 1/4) -> 0.75*(1,2) + 0.25*(3,4) */
    CHECK_NEAR(out[0], 1.5, 1e-5);
    CHECK_NEAR(out[1], 2.5, 1e-5);
    /* head 1: q = 0 -> uniform -> mean of (1,2),(3,4) */
    CHECK_NEAR(out[2], 2.0, 1e-6);
    CHECK_NEAR(out[3], 3.0, 1e-6);
    /* heads 2, 3 read KV 1 whose keys are zero: uniform over (10,20),(30,40), whatever q */
    CHECK_NEAR(out[4], 20.0, 1e-5);
    CHECK_NEAR(out[5], 30.0, 1e-5);
    CHECK_NEAR(out[6], 20.0, 1e-5);
    CHECK_NEAR(out[7], 30.0, 1e-5);

    TQ_CASE("attention: one position returns its value (causal start)");
    float o1[8];
    tq_llama_attention(o1, q, kc, vc, 1, 4, 2, 2, 4, scratch);
    CHECK_NEAR(o1[0], 1, 1e-6); CHECK_NEAR(o1[1], 2, 1e-6);
    CHECK_NEAR(o1[6], 10, 1e-6); CHECK_NEAR(o1[7], 20, 1e-6);
}

static void t_swiglu(void) {
    TQ_CASE("swiglu: silu(g) * u");
    float g[3] = {0, 1, -2}, u[3] = {5, 2, 3}, h[3];
    tq_llama_swiglu(h, g, u, 3);
    CHECK_NEAR(h[0], 0.0, 1e-7);
    CHECK_NEAR(h[1], 1.462117157, 1e-6);    /* 1/(1+e^-1) * 2 */
    CHECK_NEAR(h[2], -0.715217532, 1e-6);   /* -2/(1+e^2) * 3 */
    tq_llama_swiglu(g, g, u, 3);            /* in place */
    CHECK_NEAR(g[1], 1.462117157, 1e-6);
}

static void t_softmax_argmax(void) {
    TQ_CASE("softmax and argmax");
    float x[3] = {1, 2, 3};
    tq_llama_softmax(x, 3);
    CHECK_NEAR(x[0], 0.090030573, 1e-7);
    CHECK_NEAR(x[1], 0.244728471, 1e-7);
    CHECK_NEAR(x[2], 0.665240956, 1e-7);
    float big[2] = {1000, 1000};   /* no overflow: the max is subtracted */
    tq_llama_softmax(big, 2);
    CHECK_NEAR(big[0], 0.5, 1e-7);
    float t[4] = {1, 5, 5, 2};
    CHECK_EQ_INT(tq_llama_argmax(t, 4), 1);   /* first of the tie */
}

static void t_sample(void) {
    TQ_CASE("sample: greedy at temperature 0, reproducible with a seed");
    float logits[3] = {(float)log(0.2), (float)log(0.3), (float)log(0.5)};
    float scratch[3];
    uint64_t rng = 42;
    CHECK_EQ_INT(tq_llama_sample(logits, 3, 0.0f, 1.0f, &rng, scratch), 2);
    CHECK_EQ_INT(rng, 42);   /* greedy draws nothing */
    int counts[3] = {0, 0, 0};
    uint64_t r1 = 7, r2 = 7;
    int same = 1;
    for (int i = 0; i < 20000; i++) {
        int a = tq_llama_sample(logits, 3, 1.0f, 1.0f, &r1, scratch);
        int b = tq_llama_sample(logits, 3, 1.0f, 1.0f, &r2, scratch);
        same &= a == b;
        if (a >= 0 && a < 3) counts[a]++;
    }
    CHECK(same);
    /* frequencies follow softmax(log p) = p; 20000 draws: sd < 0.0036 */
    CHECK_NEAR(counts[0] / 20000.0, 0.2, 0.015);
    CHECK_NEAR(counts[1] / 20000.0, 0.3, 0.015);
    CHECK_NEAR(counts[2] / 20000.0, 0.5, 0.015);

    TQ_CASE("sample: temperature sharpens, top-p cuts the tail");
    /* T = 0.5 squares the probabilities: 0.04, 0.09, 0.25 over 0.38 */
    int c2 = 0;
    rng = 99;
    for (int i = 0; i < 20000; i++) c2 += tq_llama_sample(logits, 3, 0.5f, 1.0f, &rng, scratch) == 2;
    CHECK_NEAR(c2 / 20000.0, 0.25 / 0.38, 0.015);
    /* top-p 0.5: the most probable token alone holds 0.5 */
    int only2 = 1;
    for (int i = 0; i < 2000; i++) only2 &= tq_llama_sample(logits, 3, 1.0f, 0.5f, &rng, scratch) == 2;
    CHECK(only2);
    /* top-p 0.6: tokens 2 and 1 (mass 0.8), renormalised: token 1 with 0.3/0.8 */
    int c1 = 0, c0 = 0;
    for (int i = 0; i < 20000; i++) {
        int k = tq_llama_sample(logits, 3, 1.0f, 0.6f, &rng, scratch);
        c1 += k == 1; c0 += k == 0;
    }
    CHECK_EQ_INT(c0, 0);
    CHECK_NEAR(c1 / 20000.0, 0.375, 0.015);
}

void tq_tests(void) {
    t_rmsnorm();
    t_rope();
    t_attention();
    t_swiglu();
    t_softmax_argmax();
    t_sample();
}
