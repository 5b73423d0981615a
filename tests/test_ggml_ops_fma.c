/*
 * test_ggml_ops_fma.c — the two builds of the ggml-exact decoder operations
 * (src/nn/ops/ggml_ops.h): the one with FMA instructions, which runs where
 * the CPU has AVX2 + FMA3, and the plain one (fmaf a libm call), which
 * TRUEQ_ISA=portable selects, give the same bytes: attention over odd
 * position counts and grouped heads, RoPE (both pair layouts, partial
 * rotary widths, far positions), SwiGLU over odd widths with arguments
 * that reach every branch of ggml_v_expf (the scaled |n| > 126 and the
 * saturated |n| > 192 ones). tq_ggml_expf_lane itself is held to exp in
 * double (within 2 ulps, 0 at -inf, +inf beyond the float range).
 * test_kern_vs_ggml holds these functions to ggml's own graph; this test
 * needs no llama.cpp.
 */
#include "tq_test.h"
#include "nn/ops/ggml_ops.h"
#include "trueq_llama.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int use_plain(int on) {
    if (on) return setenv("TRUEQ_ISA", "portable", 1);
    return unsetenv("TRUEQ_ISA");
}

static void expf_lane(void) {
    TQ_CASE("tq_ggml_expf_lane: within 2 ulps of exp in double over [-104, 89], 0 at -inf");
    double worst = 0;
    int bad = 0;
    for (int i = 0; i <= 193000; i++) {
        float x = -104.0f + (float)i * 0.001f;
        float y = tq_ggml_expf_lane(x);
        double r = exp((double)x);
        if (r < 0x1p-126) continue;   /* subnormal results: ggml flushes through s1 * s1 */
        if (r > 0x1.fffffep127) {
            bad += !isinf(y);
            continue;
        }
        double ulp = ldexp(1.0, ilogb(r) - 23), e = fabs((double)y - r) / ulp;
        if (e > worst) worst = e;
        bad += e > 2.0;
    }
    CHECK_MSG(bad == 0, "%d arguments beyond 2 ulps (worst %.2f)", bad, worst);
    CHECK(tq_ggml_expf_lane(-INFINITY) == 0.0f);
    CHECK(tq_ggml_expf_lane(0.0f) == 1.0f);
    printf("  worst %.2f ulps\n", worst);
}

static void swiglu(void) {
    TQ_CASE("SwiGLU (ggml steps): the FMA build gives the plain build's bytes, every expf branch");
    if (!TQ_GGML_FMA_PATH) TQ_SKIP("one build only on this target");
    uint64_t rng = 11;
    int bad = 0, n_total = 0;
    float g[300], u[300], a[301], b[301];
    static const float edge[] = {0.0f, -0.0f, 88.0f, -88.0f, 90.0f, -90.0f, 130.0f, -130.0f, 1e30f, -1e30f, 87.5f};
    for (int n = 1; n <= 300; n += n < 40 ? 1 : 37) {
        for (int i = 0; i < n; i++) {
            g[i] = i % 4 == 0 ? edge[(i / 4 + n) % (int)(sizeof edge / sizeof edge[0])] : tq_t_randn(&rng) * 6.0f;
            u[i] = tq_t_randn(&rng);
        }
        a[n] = b[n] = 777.0f;
        CHECK(use_plain(0) == 0);
        tq_llama_swiglu_ggml(a, g, u, n);
        CHECK(use_plain(1) == 0);
        tq_llama_swiglu_ggml(b, g, u, n);
        for (int i = 0; i <= n; i++) bad += memcmp(&a[i], &b[i], 4) != 0;
        n_total += n;
    }
    use_plain(0);
    CHECK_MSG(bad == 0, "%d of %d values differ between the builds", bad, n_total);
    /* and the plain build is what it says: x / (1 + e^-x) * u within float rounding */
    float x = 1.5f, one = 1.0f, h;
    tq_llama_swiglu_ggml(&h, &x, &one, 1);
    CHECK(fabs(h - 1.5 / (1.0 + exp(-1.5))) < 1e-6);
}

static void attention(void) {
    TQ_CASE("attention (ggml steps): the FMA build gives the plain build's bytes (odd positions, grouped heads)");
    if (!TQ_GGML_FMA_PATH) TQ_SKIP("one build only on this target");
    static const struct { int n_heads, n_kv, hs; } SH[] = {{4, 2, 64}, {3, 1, 48}, {9, 3, 8}};
    uint64_t rng = 5;
    int bad = 0, n_total = 0;
    for (size_t s = 0; s < sizeof SH / sizeof SH[0]; s++) {
        int nh = SH[s].n_heads, nkv = SH[s].n_kv, hs = SH[s].hs, stride = nkv * hs;
        for (int np = 1; np <= 300; np += np < 36 ? 1 : 53) {
            size_t nq = (size_t)nh * hs, nc = (size_t)np * stride;
            float *q = malloc(sizeof(float) * nq), *kc = malloc(sizeof(float) * nc), *vc = malloc(sizeof(float) * nc);
            float *oa = malloc(sizeof(float) * nq), *ob = malloc(sizeof(float) * nq);
            float *sc = malloc(sizeof(float) * (size_t)(np + 32));
            for (size_t i = 0; i < nq; i++) q[i] = tq_t_randn(&rng) * 2.0f;
            for (size_t i = 0; i < nc; i++) {
                kc[i] = tq_t_randn(&rng) * 2.0f;
                vc[i] = tq_t_randn(&rng);
            }
            CHECK(use_plain(0) == 0);
            tq_llama_attention_ggml(oa, q, kc, vc, np, nh, nkv, hs, stride, sc);
            CHECK(use_plain(1) == 0);
            tq_llama_attention_ggml(ob, q, kc, vc, np, nh, nkv, hs, stride, sc);
            for (size_t i = 0; i < nq; i++) bad += memcmp(&oa[i], &ob[i], 4) != 0;
            /* one position: the output is that position's V row (probability 1) */
            if (np == 1)
                for (int h = 0; h < nh; h++)
                    for (int i = 0; i < hs; i++) bad += oa[h * hs + i] != vc[(h / (nh / nkv)) * hs + i];
            n_total += (int)nq;
            free(q); free(kc); free(vc); free(oa); free(ob); free(sc);
        }
    }
    use_plain(0);
    CHECK_MSG(bad == 0, "%d of %d outputs differ between the builds (or from V at one position)", bad, n_total);
}

static void rope(void) {
    TQ_CASE("RoPE (ggml steps): the FMA build gives the plain build's bytes (both layouts, partial rotary)");
    if (!TQ_GGML_FMA_PATH) TQ_SKIP("one build only on this target");
    static const struct { int nh, hs, rd, half; } SH[] = {{9, 64, 64, 0}, {9, 64, 64, 1}, {3, 96, 32, 1}, {5, 48, 24, 0}};
    static const int POS[] = {0, 1, 7, 511, 4095, 100000};
    uint64_t rng = 9;
    int bad = 0, n_total = 0, moved = 0;
    double cs[128];
    float v[9 * 96], a[9 * 96], b[9 * 96];
    for (size_t s = 0; s < sizeof SH / sizeof SH[0]; s++)
        for (size_t p = 0; p < sizeof POS / sizeof POS[0]; p++) {
            int n = SH[s].nh * SH[s].hs;
            for (int i = 0; i < n; i++) v[i] = tq_t_randn(&rng) * 3.0f;
            tq_llama_rope_table_ggml(cs, SH[s].rd, POS[p], 10000.0f, NULL, 1.0f);
            memcpy(a, v, sizeof(float) * (size_t)n);
            memcpy(b, v, sizeof(float) * (size_t)n);
            CHECK(use_plain(0) == 0);
            tq_llama_rope_apply_ggml(a, SH[s].nh, SH[s].hs, SH[s].rd, SH[s].half, cs);
            CHECK(use_plain(1) == 0);
            tq_llama_rope_apply_ggml(b, SH[s].nh, SH[s].hs, SH[s].rd, SH[s].half, cs);
            for (int i = 0; i < n; i++) {
                bad += memcmp(&a[i], &b[i], 4) != 0;
                moved += a[i] != v[i];
            }
            n_total += n;
        }
    use_plain(0);
    CHECK_MSG(bad == 0, "%d of %d values differ between the builds", bad, n_total);
    CHECK(moved > n_total / 2);   /* the rotation did something (position 0 leaves values alone) */
}

void tq_tests(void) {
    expf_lane();
    swiglu();
    attention();
    rope();
}
