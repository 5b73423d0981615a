/*
 * test_ggml_legacy_fast.c — the vector encoders of Q4_0, Q4_1, Q5_0, Q5_1
 * and Q8_0 (src/ggml/legacy_fast.c) write the bytes of legacy.c's portable
 * reference (ggml's quantize_row_*_ref, itself checked against ggml in the
 * conformance tests), on random rows at many scales and on adversarial
 * blocks: exact ties of every rounding, negative zeros (first zero decides
 * the sign of min/max), all-zero blocks, the extreme at either sign or both,
 * huge, tiny, denormal, Inf and NaN values. Plus known answers for the fast
 * paths' ties (Q8_0 rounds half away from zero, Q4_0 truncates).
 * Q8_0 has two fast paths, the explicit AVX-512F one (legacy_fast_avx512.c,
 * where the CPU has it) and the vector-extension loop: both are compared
 * with the reference, on rows whose block count is not a multiple of 16
 * too (the AVX-512 loop's tail), and the AVX-512 fp16 conversion of the
 * scales is compared with tq_ggml_fp16 over a sweep of float bit patterns.
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
        if (LTYPES[k] != TQ_GGML_Q8_0 || !ok) continue;
        memset(got, 0x5A, n);
        tq_ggml_fast_q8_0_vec(x, got, N);   /* the vector-extension loop itself */
        for (i = 0; i < n && want[i] == got[i];) i++;
        ok = i == n;
        CHECK_MSG(ok, "Q8_0 %s (vector loop): byte %zu of block %zu differs (reference %02x, fast %02x)", what, i,
                  i / 34, ok ? 0 : want[i], ok ? 0 : got[i]);
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

/* Q8_0 of rows of nb blocks (not multiples of 16: the AVX-512 loop's tail),
 * each filled from the 127-boundary, tie and special values below. */
static void q8_0_tails(void) {
    TQ_CASE("Q8_0: rows of 1 .. 37 blocks at the 127 boundary, ties, -0, NaN, Inf; fast == reference");
    enum { MAXB = 37 };
    static float x[32 * MAXB];
    static uint8_t want[34 * MAXB], got[34 * MAXB + 1];
    uint64_t seed = 21;
    const float special[] = {127.0f, -127.0f, 126.5f, -126.5f, 126.49999f, 0.5f, -0.5f, 0.49999997f, -0.0f, 0.0f,
                             NAN, INFINITY, -INFINITY, 1e-45f, FLT_MAX, 3e38f, 1e-40f};
    const int nspecial = (int)(sizeof special / sizeof *special);
    for (int nb = 1; nb <= MAXB; nb++) {
        for (int b = 0; b < nb; b++) {
            float *y = x + 32 * b;
            int kind = (int)(tq_t_rand(&seed) % 5);
            for (int j = 0; j < 32; j++) {
                unsigned r = (unsigned)tq_t_rand(&seed);
                switch (kind) {
                case 0: y[j] = (float)((int)(r % 255) - 127) + 0.5f * (float)(r >> 8 & 1); break;   /* d = 1: ties */
                case 1: y[j] = special[r % (unsigned)nspecial]; break;
                case 2: y[j] = 0.0f; break;
                case 3: y[j] = (float)tq_t_randn(&seed) * 1e-39f; break;   /* subnormal */
                default: y[j] = (float)tq_t_randn(&seed) * (j == 0 ? 1e30f : 1.0f); break;
                }
            }
            if (kind == 0) y[(b * 11) % 32] = b & 1 ? -127.0f : 127.0f;
        }
        memset(want, 0xA5, sizeof want);
        memset(got, 0x5A, sizeof got);
        tq_ggml_legacy_reference(1);
        tq_ggml_q_q8_0(x, want, 32 * nb);
        tq_ggml_legacy_reference(0);
        tq_ggml_q_q8_0(x, got, 32 * nb);
        size_t i = 0, n = 34 * (size_t)nb;
        while (i < n && want[i] == got[i]) i++;
        CHECK_MSG(i == n, "Q8_0 %d blocks: byte %zu of block %zu differs", nb, i, i / 34);
        CHECK_MSG(got[n] == 0x5A, "Q8_0 %d blocks: wrote past the row", nb);
        if (i != n) break;
    }
}

/* tq_ggml_fp16_avx512 == tq_ggml_fp16 for non-NaN floats: every bit
 * pattern at a stride, every fp16 mantissa of every exponent with the low
 * 13 bits at the rounding boundaries, and every float whose fp16 is
 * subnormal or at its threshold (exponents 101..113) at a small stride. */
static void fp16_sweep(void) {
    TQ_CASE("AVX-512 fp16 (vcvtps2ph) == tq_ggml_fp16 for every non-NaN float swept (round to even, subnormal, Inf)");
    enum { CH = 4096 };
    static float f[CH];
    static uint16_t h[CH];
    uint64_t seed = 33, checked = 0, bad = 0;
    int n = 0, ran = 1;
    uint32_t first_bad = 0;
    const uint32_t low[] = {0, 1, 0xfff, 0x1000, 0x1001, 0x1fff};
#define FLUSH()                                                                                \
    do {                                                                                       \
        if (!tq_ggml_fp16_avx512(f, h, n)) { ran = 0; n = 0; break; }                          \
        for (int k_ = 0; k_ < n; k_++)                                                         \
            if (h[k_] != tq_ggml_fp16(f[k_])) { if (!bad++) memcpy(&first_bad, &f[k_], 4); }   \
        checked += (uint64_t)n;                                                                \
        n = 0;                                                                                 \
    } while (0)
#define PUSH(u)                                                                                \
    do {                                                                                       \
        uint32_t u_ = (u);                                                                     \
        if ((u_ & 0x7fffffffu) > 0x7f800000u) break; /* NaN */                                 \
        memcpy(&f[n++], &u_, 4);                                                               \
        if (n == CH) FLUSH();                                                                  \
    } while (0)
    for (uint64_t u = 0; u <= 0xffffffffu && ran; u += 4093) PUSH((uint32_t)u);
    for (uint32_t hi = 0; hi < (1u << 19) && ran; hi++) {
        for (int k = 0; k < 6; k++) PUSH(hi << 13 | low[k]);
        PUSH(hi << 13 | (uint32_t)(tq_t_rand(&seed) & 0x1fff));
    }
    for (uint32_t e = 101; e <= 113 && ran; e++)
        for (uint32_t m = 0; m < (1u << 23) && ran; m += 5) {
            PUSH(e << 23 | m);
            PUSH(0x80000000u | e << 23 | m);
        }
    if (ran && n) FLUSH();
#undef PUSH
#undef FLUSH
    if (!ran) { printf("  (no AVX-512F here: the vcvtps2ph path is not used)\n"); return; }
    CHECK_MSG(bad == 0, "%llu of %llu floats convert differently, first 0x%08x", (unsigned long long)bad,
              (unsigned long long)checked, first_bad);
    CHECK_MSG(checked > 30000000u, "swept only %llu floats", (unsigned long long)checked);
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
    q8_0_tails();
    fp16_sweep();
    known_answers();
}
