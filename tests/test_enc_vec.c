/*
 * test_enc_vec.c — the encoder's hand-written AVX-512 element-wise loops
 * (src/nn/ops/vec.h) against the portable C loops they must match byte for
 * byte: GELU (erf form), the attention softmax and LayerNorm, on lengths that are not
 * multiples of the vector width (1 .. 200), with edge values (0, -0, ties at
 * the polynomial boundaries 1 and 4 of erf's argument, +-inf, NaN, values
 * far beyond 4, subnormals) and, for the softmax, masks, both scalings
 * (8 and sqrt 32), -inf and huge negative scores, a NaN score. The softmax's
 * exponential is checked against exp2 in double here, the C loops against
 * double-precision formulas in test_encoder_ops (GELU) and test_gemm_i8
 * (softmax rows, e^x).
 */
#include "tq_test.h"
#include "nn/ops/vec.h"
#include "nn/ops/softmax.h"
#include "trueq_nn.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Same value, or both NaN (the sign and payload of a NaN are not a contract). */
static int same(float a, float b) {
    if (a != a || b != b) return a != a && b != b;
    return memcmp(&a, &b, 4) == 0;
}

static void gelu(void) {
    TQ_CASE("GELU (erf): the AVX-512 and AVX2 forms give the portable loop's bytes");
    if (!tq_vec_avx2()) TQ_SKIP("no AVX2 here (or TRUEQ_ISA turns it off)");
    int w512 = tq_vec_avx512();
    uint64_t rng = 7;
    static const float edge[] = {0.0f, -0.0f, 1.41421356f, -1.41421356f, 1.4142137f, 5.65685425f, -5.65685425f,
                                 5.6568546f, 1e-40f, -1e-40f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, 3.0f, -3.0f};
    float a[256], b[256];
    int bad = 0;
    for (int n = 1; n <= 200; n += n < 40 ? 1 : 13) {
        for (int i = 0; i < n; i++) {
            a[i] = i % 3 == 0 ? edge[(i / 3 + n) % (int)(sizeof edge / sizeof edge[0])] : tq_t_randn(&rng) * 3.0f;
            b[i] = a[i];
        }
        a[n] = b[n] = 12345.0f;   /* past the end: untouched */
        float c[256];
        memcpy(c, a, sizeof(float) * (size_t)(n + 1));
        tq_gelu_erf_ref(a, n);
        if (w512) tq_gelu_erf_avx512(b, n);
        else tq_gelu_erf_ref(b, n);
        tq_gelu_erf_avx2(c, n);
        for (int i = 0; i <= n; i++) bad += !same(a[i], b[i]) + !same(a[i], c[i]);
        CHECK(a[n] == 12345.0f && b[n] == 12345.0f);
    }
    CHECK_EQ_INT(bad, 0);
    /* through the dispatching entry as well */
    for (int i = 0; i < 100; i++) a[i] = b[i] = tq_t_randn(&rng) * 2.0f;
    tq_gelu_erf_ref(a, 100);
    tq_enc_activate(b, 100, TQ_ACT_GELU);
    CHECK(memcmp(a, b, sizeof(float) * 100) == 0);
}

static void softmax(void) {
    TQ_CASE("softmax rows: the AVX-512 and AVX2 forms give the portable loop's bytes (masks, scaling, odd lengths)");
    if (!tq_vec_avx2()) TQ_SKIP("no AVX2 here (or TRUEQ_ISA turns it off)");
    int w512 = tq_vec_avx512();
    uint64_t rng = 11;
    float a[260], b[260], c[260];
    int32_t mask[260];
    int bad = 0, badz = 0;
    for (int n = 1; n <= 257; n += n < 40 ? 1 : 17)
        for (int variant = 0; variant < 6; variant++) {
            int use_mask = variant & 1;
            float div = variant & 2 ? 8.0f : variant & 4 ? 5.65685425f : 0.0f;
            for (int i = 0; i < n; i++) {
                a[i] = b[i] = c[i] = tq_t_randn(&rng) * (i % 7 == 0 ? 40.0f : 4.0f);
                if (i % 29 == 5) a[i] = b[i] = c[i] = -INFINITY;
                if (i % 31 == 3) a[i] = b[i] = c[i] = -1e30f;   /* weight 0 */
                mask[i] = (i * 5 + n) % 3 != 0;
            }
            mask[n / 2] = 1;   /* one real key */
            a[n / 2] = b[n / 2] = c[n / 2] = 1.0f;
            a[n] = b[n] = c[n] = -7.0f;
            tq_softmax_row_ref(a, n, use_mask ? mask : NULL, div);
            if (w512) tq_softmax_row_avx512(b, n, use_mask ? mask : NULL, div);
            else tq_softmax_row_ref(b, n, use_mask ? mask : NULL, div);
            tq_softmax_row_avx2(c, n, use_mask ? mask : NULL, div);
            bad += memcmp(a, b, sizeof(float) * (size_t)(n + 1)) != 0;
            bad += memcmp(a, c, sizeof(float) * (size_t)(n + 1)) != 0;
            for (int i = 0; i < n && use_mask; i++) badz += !mask[i] && (b[i] != 0.0f || c[i] != 0.0f);
        }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(badz, 0);
    /* a NaN score: NaN weights on every path */
    for (int i = 0; i < 40; i++) a[i] = b[i] = c[i] = tq_t_randn(&rng);
    a[7] = b[7] = c[7] = NAN;
    tq_softmax_row_ref(a, 40, NULL, 0.0f);
    if (w512) tq_softmax_row_avx512(b, 40, NULL, 0.0f);
    else tq_softmax_row_ref(b, 40, NULL, 0.0f);
    tq_softmax_row_avx2(c, 40, NULL, 0.0f);
    for (int i = 0; i < 40; i++) bad += !same(a[i], b[i]) + !same(a[i], c[i]) + (a[i] == a[i]);
    CHECK_EQ_INT(bad, 0);
    /* several rows at once (groups of 4 and a remainder): each row its bytes alone */
    enum { R = 7, N = 45 };
    float m1[R * N], m2[R * N];
    for (int i = 0; i < R * N; i++) m1[i] = m2[i] = tq_t_randn(&rng) * 6.0f;
    for (int i = 0; i < R; i++) tq_softmax_row_ref(m1 + i * N, N, mask, 8.0f);
    if (w512) tq_softmax_rows_avx512(m2, R, N, mask, 8.0f);
    else tq_softmax_rows(m2, R, N, mask, 8.0f);
    CHECK(memcmp(m1, m2, sizeof m1) == 0);
    for (int i = 0; i < R * N; i++) m1[i] = m2[i] = tq_t_randn(&rng);
    for (int i = 0; i < R; i++) tq_softmax_row_ref(m1 + i * N, N, NULL, 0.0f);
    tq_softmax_rows(m2, R, N, NULL, 0.0f);
    CHECK(memcmp(m1, m2, sizeof m1) == 0);
}

static void softmax_exp2(void) {
    TQ_CASE("softmax exponential: 2^t within 1e-7 relative of exp2 in double on [-125, 127], 0 below, NaN kept");
    double worst = 0;
    float at = 0;
    uint64_t rng = 17;
    for (int i = 0; i < 4000000; i++) {   /* dense near 0 (the softmax's weights that matter), then the range */
        float t = i < 2000000 ? -4.0f * (float)i / 2000000.0f : -125.0f + 252.0f * (float)(tq_t_rand(&rng) % 1000000u) / 1e6f;
        double want = exp2((double)t), got = tq_softmax_exp2(t), e = fabs(got - want) / want;
        if (e > worst) worst = e, at = t;
    }
    printf("  exp2: worst relative error %.3g at t = %.9g\n", worst, (double)at);
    CHECK_MSG(worst < 1e-7, "worst relative error %.3g at %g", worst, (double)at);
    CHECK(tq_softmax_exp2(0.0f) == 1.0f && tq_softmax_exp2(-1.0f) == 0.5f && tq_softmax_exp2(-125.5f) == 0.0f);
    CHECK(tq_softmax_exp2(-INFINITY) == 0.0f && tq_softmax_exp2(-125.0f) == ldexpf(1.0f, -125));
    float nan = tq_softmax_exp2(NAN);
    CHECK(nan != nan);
}

static void layernorm(void) {
    TQ_CASE("LayerNorm: the AVX-512 form gives the portable loop's bytes (odd widths, in place, large offsets)");
    if (!tq_vec_avx512()) TQ_SKIP("no AVX-512 F here (or TRUEQ_ISA turns it off)");
    uint64_t rng = 13;
    static float x[800], w[800], bb[800], a[801], b[801];
    int bad = 0;
    for (int n = 1; n <= 780; n += n < 40 ? 1 : 37) {
        for (int i = 0; i < n; i++) {
            x[i] = tq_t_randn(&rng) * (i % 11 == 0 ? 30.0f : 1.0f) + (n % 2 ? 100.0f : 0.0f);
            w[i] = 1.0f + 0.1f * tq_t_randn(&rng);
            bb[i] = 0.1f * tq_t_randn(&rng);
        }
        a[n] = b[n] = 3.0f;
        tq_enc_layernorm_ref(a, x, w, bb, n, 1e-12f);
        tq_enc_layernorm_avx512(b, x, w, bb, n, 1e-12f);
        bad += memcmp(a, b, sizeof(float) * (size_t)(n + 1)) != 0;
        memcpy(b, x, sizeof(float) * (size_t)n);   /* in place, through the dispatching entry */
        tq_enc_layernorm(b, b, w, bb, n, 1e-12f);
        bad += memcmp(a, b, sizeof(float) * (size_t)n) != 0;
    }
    CHECK_EQ_INT(bad, 0);
}

static void helpers(void) {
    TQ_CASE("row helpers: tq_vec_add / tq_vec_div element by element");
    float y[37], b[37];
    for (int i = 0; i < 37; i++) { y[i] = 0.1f * (float)i - 1.0f; b[i] = 1.0f / (float)(i + 3); }
    float want[37];
    for (int i = 0; i < 37; i++) want[i] = y[i] + b[i];
    tq_vec_add(y, b, 37);
    CHECK(memcmp(y, want, sizeof y) == 0);
    for (int i = 0; i < 37; i++) want[i] = y[i] / 8.0f;
    tq_vec_div(y, 8.0f, 37);
    CHECK(memcmp(y, want, sizeof y) == 0);
}

void tq_tests(void) {
    gelu();
    softmax();
    softmax_exp2();
    layernorm();
    helpers();
}
