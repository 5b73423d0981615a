/*
 * test_kquants_lanes.c — Q6_K's candidate-lane search (src/ggml/
 * kquants_quant.c) writes the same bytes as the one-by-one reference search.
 * Every K type is run both ways (the others must not depend on the switch),
 * on random blocks at many scales and on adversarial ones: all zero,
 * constant, one spike, tiny and huge magnitudes, denormals, exact ties of the
 * rounding (values on half steps), two levels, alternating signs, and blocks
 * already on a 4-bit grid. The lanes run in the clone the CPU picks at run
 * time (AVX-512, AVX2 or SSE2); the reference is ggml's order of float
 * operations, checked against ggml's C code in test_gguf_conformance.
 */
#include "tq_test.h"
#include "ggml/ggml_types.h"
#include "ggml/ggml_kernels.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>

#define NB 8   /* super-blocks per case */
#define N (256 * NB)

static const int KTYPES[] = {TQ_GGML_Q2_K, TQ_GGML_Q3_K, TQ_GGML_Q4_K, TQ_GGML_Q5_K, TQ_GGML_Q6_K};

/* Quantize x both ways; 1 when the bytes agree (else names the first block). */
static int same_bytes(const char *what, const float *x) {
    int ok = 1;
    for (size_t k = 0; k < sizeof KTYPES / sizeof *KTYPES; k++) {
        const tq_ggml_type_info *t = tq_ggml_type(KTYPES[k]);
        size_t nb = t->type_size * NB;
        uint8_t *a = malloc(nb), *b = malloc(nb);
        memset(a, 0xA5, nb);
        memset(b, 0x5A, nb);
        tq_ggml_kquants_reference(1);
        t->quantize_row_ref(x, a, N);
        tq_ggml_kquants_reference(0);
        t->quantize_row_ref(x, b, N);
        size_t bad = nb;
        for (size_t i = 0; i < nb && bad == nb; i++) if (a[i] != b[i]) bad = i;
        CHECK_MSG(bad == nb, "%s %s: byte %zu of block %zu differs (reference %02x, lanes %02x)", t->name, what, bad,
                  bad / t->type_size, bad < nb ? a[bad] : 0, bad < nb ? b[bad] : 0);
        ok &= bad == nb;
        free(a);
        free(b);
    }
    return ok;
}

static void random_blocks(void) {
    TQ_CASE("random gaussian blocks at scales 1e-30 .. 1e30: lanes == reference, every K type");
    float *x = malloc(sizeof(float) * N);
    uint64_t seed = 7;
    const double scales[] = {1e-30, 1e-8, 1e-3, 0.02, 1, 37, 1e6, 1e30};
    for (int rep = 0; rep < 40; rep++) {
        double sc = scales[rep % 8];
        for (int i = 0; i < N; i++) x[i] = (float)(sc * tq_t_randn(&seed));
        if (rep % 3 == 1) for (int i = 0; i < N; i++) x[i] = fabsf(x[i]);          /* all positive: min clamped to 0 */
        if (rep % 3 == 2) for (int i = 0; i < N; i++) x[i] = x[i] + (float)(3 * sc); /* offset: min far from 0 */
        char what[64];
        snprintf(what, sizeof what, "random rep %d", rep);
        if (!same_bytes(what, x)) break;
    }
    TQ_CASE("random blocks from few levels (values already on a 4-bit grid)");
    for (int rep = 0; rep < 20; rep++) {
        float step = 0.01f * (float)(rep + 1), off = rep % 2 ? -3 * step : 0;
        for (int i = 0; i < N; i++) x[i] = off + step * (float)(tq_t_rand(&seed) % (unsigned)(2 + rep % 15));
        if (!same_bytes("grid", x)) break;
    }
    free(x);
}

static void adversarial_blocks(void) {
    float *x = calloc(N, sizeof(float));
    uint64_t seed = 11;
    TQ_CASE("all zero, negative zero, constant blocks");
    same_bytes("zero", x);
    for (int i = 0; i < N; i++) x[i] = -0.0f;
    same_bytes("-0", x);
    for (int i = 0; i < N; i++) x[i] = 0.75f;
    same_bytes("constant +", x);
    for (int i = 0; i < N; i++) x[i] = -1.25e-3f;
    same_bytes("constant -", x);

    TQ_CASE("one spike per sub-block, the rest zero");
    for (int i = 0; i < N; i++) x[i] = i % 16 == 5 ? (i % 32 == 5 ? 4.0f : -3.0f) : 0.0f;
    same_bytes("spikes", x);

    TQ_CASE("denormals, tiny and huge magnitudes, the float limits");
    for (int i = 0; i < N; i++) x[i] = (float)(tq_t_rand(&seed) % 200) * 1e-45f * (i % 2 ? -1.0f : 1.0f);
    same_bytes("denormal", x);
    for (int i = 0; i < N; i++) x[i] = FLT_MIN * (float)(1 + tq_t_rand(&seed) % 64) * (i % 3 ? 1.0f : -1.0f);
    same_bytes("FLT_MIN multiples", x);
    for (int i = 0; i < N; i++) x[i] = 1e-15f * tq_t_randn(&seed);   /* around the group max epsilon */
    same_bytes("1e-15", x);
    for (int i = 0; i < N; i++) x[i] = 1e37f * tq_t_randn(&seed);
    same_bytes("1e37", x);
    for (int i = 0; i < N; i++) x[i] = i % 7 == 0 ? FLT_MAX / 4 : -FLT_MAX / 8 * (float)(i % 5) / 5;
    same_bytes("near FLT_MAX", x);

    TQ_CASE("ties: values on half steps of the code grid, two levels, alternating signs");
    for (int i = 0; i < N; i++) x[i] = 0.5f * (float)((int)(tq_t_rand(&seed) % 31) - 15);
    same_bytes("half steps", x);
    for (int i = 0; i < N; i++) x[i] = (float)((int)(tq_t_rand(&seed) % 9) - 4) + 0.5f;
    same_bytes("n + 0.5", x);
    for (int i = 0; i < N; i++) x[i] = i % 2 ? 1.0f : 0.0f;
    same_bytes("two levels", x);
    for (int i = 0; i < N; i++) x[i] = i % 2 ? 1.0f : -1.0f;
    same_bytes("alternating", x);
    for (int i = 0; i < N; i++) x[i] = (float)(i % 256) / 255.0f - 0.5f;
    same_bytes("ramp", x);
    free(x);
}

void tq_tests(void) {
    random_blocks();
    adversarial_blocks();
}
