/*
 * test_ggml_legacy_fast.c — the vector encoders of Q4_0, Q4_1, Q5_0, Q5_1
 * and Q8_0 (src/ggml/legacy_fast.c) write the bytes of legacy.c's portable
 * reference (ggml's quantize_row_*_ref, itself checked against ggml in the
 * conformance tests), on random rows at many scales and on adversarial
 * blocks: exact ties of every rounding, negative zeros (first zero decides
 * the sign of min/max), all-zero blocks, the extreme at either sign or both,
 * huge, tiny, denormal, Inf and NaN values. Plus known answers for the fast
 * paths' ties (Q8_0 rounds half away from zero, Q4_0 truncates).
 */
#include "tq_test.h"
#include "ggml/ggml_types.h"
#include "ggml/ggml_kernels.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>

#define NB 16   /* blocks per row */
#define N (32 * NB)

static const int LTYPES[] = {TQ_GGML_Q4_0, TQ_GGML_Q4_1, TQ_GGML_Q5_0, TQ_GGML_Q5_1, TQ_GGML_Q8_0};

/* x encoded as type t, by the reference loops (ref = 1) or the fast ones;
 * the buffer is pre-filled with `fill` so unwritten bytes show. */
static void encode(const tq_ggml_type_info *t, int ref, const float *x, uint8_t *out, uint8_t fill) {
    memset(out, fill, t->type_size * NB);
    tq_ggml_legacy_reference(ref);
    t->quantize_row_ref(x, out, N);
    tq_ggml_legacy_reference(0);
}

/* Encode x both ways with every legacy type; 1 when the bytes agree. */
static int same_bytes(const char *what, const float *x) {
    static uint8_t want[34 * NB], got[34 * NB];
    int ok = 1;
    for (size_t k = 0; k < sizeof LTYPES / sizeof *LTYPES && ok; k++) {
        const tq_ggml_type_info *t = tq_ggml_type(LTYPES[k]);
        encode(t, 1, x, want, 0xA5);
        encode(t, 0, x, got, 0x5A);
        size_t n = t->type_size * NB, i = 0;
        while (i < n && want[i] == got[i]) i++;
        ok = i == n;
        CHECK_MSG(ok, "%s %s: byte %zu of block %zu differs (reference %02x, fast %02x)", t->name, what, i,
                  i / t->type_size, ok ? 0 : want[i], ok ? 0 : got[i]);
    }
    return ok;
}

static void random_rows(void) {
    TQ_CASE("random gaussian rows at scales 1e-38 .. 1e37: fast == reference, every legacy type");
    float *x = malloc(sizeof(float) * N);
    uint64_t seed = 5;
    const double scales[] = {1e-38, 1e-20, 1e-3, 0.02, 1, 37, 1e6, 1e37};
    for (int rep = 0; rep < 200; rep++) {
        double sc = scales[rep % 8];
        for (int i = 0; i < N; i++) x[i] = (float)(sc * tq_t_randn(&seed));
        if (rep % 3 == 1) for (int i = 0; i < N; i++) x[i] = fabsf(x[i]);
        if (rep % 3 == 2) for (int i = 0; i < N; i++) x[i] = x[i] - (float)(2 * sc);
        char what[64];
        snprintf(what, sizeof what, "random rep %d", rep);
        if (!same_bytes(what, x)) break;
    }
    TQ_CASE("random rows on code grids (every value a tie or a code)");
    for (int rep = 0; rep < 60; rep++) {
        int levels = 2 + rep % 255;
        float step = rep % 2 ? 0.5f : 0.25f;
        for (int i = 0; i < N; i++) x[i] = step * (float)((int)(tq_t_rand(&seed) % (unsigned)levels) - levels / 2);
        if (!same_bytes("grid", x)) break;
    }
    free(x);
}

static void adversarial_blocks(void) {
    float *x = calloc(N, sizeof(float));
    uint64_t seed = 9;
    TQ_CASE("all zero, negative zero, mixed zeros (the first zero decides min/max's sign)");
    same_bytes("zero", x);
    for (int i = 0; i < N; i++) x[i] = -0.0f;
    same_bytes("-0", x);
    for (int i = 0; i < N; i++) x[i] = (tq_t_rand(&seed) & 1) ? -0.0f : 0.0f;
    same_bytes("±0 random", x);
    for (int i = 0; i < N; i++) x[i] = (tq_t_rand(&seed) % 3 == 0) ? ((i & 1) ? -0.0f : 0.0f) : (i % 64 < 32 ? 1.0f : -1.0f);
    same_bytes("±0 with one-signed rest", x);

    TQ_CASE("the largest magnitude at either sign, both signs, first or last");
    for (int i = 0; i < N; i++) x[i] = 0.1f * tq_t_randn(&seed);
    for (int b = 0; b < NB; b++) {
        float *y = x + 32 * b;
        switch (b % 4) {
        case 0: y[b % 32] = 3.0f; break;
        case 1: y[b % 32] = -3.0f; break;
        case 2: y[0] = -3.0f; y[31] = 3.0f; break;
        default: y[0] = 3.0f; y[31] = -3.0f; break;
        }
    }
    same_bytes("extremes", x);
    for (int i = 0; i < N; i++) x[i] = 2.5f;
    same_bytes("constant", x);

    TQ_CASE("huge, tiny, denormal, Inf and NaN values");
    for (int i = 0; i < N; i++) x[i] = (float)(tq_t_rand(&seed) % 200) * 1e-45f * (i % 2 ? -1.0f : 1.0f);
    same_bytes("denormal", x);
    for (int i = 0; i < N; i++) x[i] = FLT_MIN * (float)(1 + tq_t_rand(&seed) % 64) * (i % 3 ? 1.0f : -1.0f);
    same_bytes("FLT_MIN multiples", x);
    for (int i = 0; i < N; i++) x[i] = i % 7 == 0 ? FLT_MAX / 4 : -FLT_MAX / 8 * (float)(i % 5) / 5;
    same_bytes("near FLT_MAX", x);
    for (int i = 0; i < N; i++) x[i] = i % 5 == 0 ? FLT_MAX : (i % 5 == 1 ? -FLT_MAX : tq_t_randn(&seed));
    same_bytes("FLT_MAX", x);
    for (int i = 0; i < N; i++) x[i] = tq_t_randn(&seed);
    for (int b = 0; b < NB; b++) x[32 * b + (b * 7) % 32] = b % 3 == 0 ? NAN : b % 3 == 1 ? INFINITY : -INFINITY;
    same_bytes("NaN / Inf", x);
    for (int i = 0; i < N; i++) x[i] = NAN;
    same_bytes("all NaN", x);
    free(x);
}

static void known_answers(void) {
    TQ_CASE("known answers: Q8_0 ties round away from zero, Q4_0 truncates x + 8.5");
    float x[32] = {127.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 126.5f, -126.5f, 0.49999997f, -0.49999997f, -0.0f};
    uint8_t b[34];
    tq_ggml_legacy_reference(0);
    tq_ggml_type(TQ_GGML_Q8_0)->quantize_row_ref(x, b, 32);
    const int8_t want[12] = {127, 1, -1, 2, -2, 3, -3, 127, -127, 0, 0, 0};
    CHECK_EQ_INT(tq_ld16(b), 0x3c00);   /* d = 127 / 127 = 1 */
    for (int j = 0; j < 12; j++) CHECK_MSG((int8_t)b[2 + j] == want[j], "Q8_0 x=%g: %d, want %d", (double)x[j], (int8_t)b[2 + j], want[j]);
    float y[32] = {-8.0f, 7.0f, -0.5f, 0.49f, 6.5f, -7.5f};
    uint8_t c[18];
    tq_ggml_type(TQ_GGML_Q4_0)->quantize_row_ref(y, c, 32);
    CHECK_EQ_INT(tq_ld16(c), 0x3c00);   /* d = -8 / -8 = 1 */
    const int wq[6] = {0, 15, 8, 8, 15, 1};
    for (int j = 0; j < 6; j++) CHECK_MSG((c[2 + j] & 15) == wq[j], "Q4_0 x=%g: %d, want %d", (double)y[j], c[2 + j] & 15, wq[j]);
}

void tq_tests(void) {
    random_rows();
    adversarial_blocks();
    known_answers();
}
