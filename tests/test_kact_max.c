/*
 * test_kact_max.c — the activation quantizer fed a row's max from outside
 * (tq_kact_row_max, what the encoder's GELU and LayerNorm find while they
 * write a row: tq_gelu_erf_max_avx512, tq_enc_layernorm_max_avx512) and the
 * fill that leaves q unwritten (tq_kact_skip_q).
 *
 *  - for the I8 per-channel matrix prepared for every ISA this CPU runs,
 *    rows of odd widths (1 .. 1537) with zeros, huge values, infinities,
 *    NaN and subnormals: tq_kact_row_max with tq_absmax_bits of the row
 *    gives tq_kact_rows' q, qa and scale bytes;
 *  - after tq_kact_skip_q the AVX-512 fill writes the same qa and scales
 *    and leaves q as it was; a then fits only the products that read qa
 *    alone, and tq_kact_begin undoes it;
 *  - the *_max forms of GELU and LayerNorm return tq_absmax_bits of the
 *    values they wrote, which are the plain forms' bytes.
 */
#include "tq_test.h"
#include "kern/kern.h"
#include "nn/ops/vec.h"
#include "trueq_nn.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAXC = 1537, ROWS = 6 };

/* Row r of width cols: normal values, then per row an edge (zeros, huge,
 * inf, NaN, subnormal tiny values). */
static void fill(float *x, int64_t cols, int r, uint64_t *rng) {
    for (int64_t c = 0; c < cols; c++) x[c] = tq_t_randn(rng) * (c % 7 == 0 ? 5.0f : 1.0f);
    switch (r) {
    case 1: for (int64_t c = 0; c < cols; c++) x[c] = c % 2 ? 0.0f : -0.0f; break;
    case 2: x[cols / 2] = 3e38f; break;
    case 3: x[cols - 1] = -INFINITY; break;
    case 4: x[cols / 3] = NAN; break;
    case 5: for (int64_t c = 0; c < cols; c++) x[c] = (float)(c % 5) * 1e-41f; break;
    default: break;
    }
}

static void prepare(tq_kmat *k, int64_t cols, tq_kisa isa, int8_t *codes, float *scale) {
    tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL};
    const void *aux[TQ_MAX_AUX] = {scale};
    CHECK(tq_kern_prepare(k, &q, 16, cols, codes, aux, isa) == 1);
}

static void row_max(uint64_t *rng) {
    TQ_CASE("tq_kact_row_max with the row's tq_absmax_bits: tq_kact_rows' bytes on every ISA (odd widths, edge rows)");
    static int8_t codes[16 * MAXC];
    static float scale[16], x[ROWS * MAXC];
    for (int i = 0; i < 16 * MAXC; i++) codes[i] = (int8_t)(i % 255 - 127);
    for (int i = 0; i < 16; i++) scale[i] = 0.01f;
    static const int64_t widths[] = {1, 3, 17, 63, 64, 65, 259, 384, 1536, MAXC};
    static const tq_kisa isas[] = {TQ_KISA_PORTABLE, TQ_KISA_AVX2, TQ_KISA_AVX512};
    int bad = 0, runs = 0;
    for (int ii = 0; ii < 3; ii++) {
        if (!tq_kern_isa_supported(isas[ii])) continue;
        for (int w = 0; w < (int)(sizeof widths / sizeof widths[0]); w++) {
            int64_t cols = widths[w];
            tq_kmat k;
            prepare(&k, cols, isas[ii], codes, scale);
            tq_kact a, b;
            CHECK(tq_kact_init(&a, &k, ROWS, cols) == TQ_OK && tq_kact_init(&b, &k, ROWS, cols) == TQ_OK);
            for (int r = 0; r < ROWS; r++) fill(x + r * cols, cols, r, rng);
            tq_kact_begin(&a, ROWS, cols);
            tq_kact_begin(&b, ROWS, cols);
            memset(a.q, 0x11, (size_t)(ROWS * a.kpad));
            memset(b.q, 0x22, (size_t)(ROWS * b.kpad));
            tq_kact_rows(&a, x, cols, 0, ROWS);
            for (int r = ROWS - 1; r >= 0; r--)   /* any order: rows are independent */
                tq_kact_row_max(&b, x + r * cols, r, tq_absmax_bits(x + r * cols, cols));
            size_t bytes = (size_t)(ROWS * a.kpad);
            bad += memcmp(a.q, b.q, bytes) != 0 || memcmp(a.qa, b.qa, bytes) != 0 ||
                   memcmp(a.d, b.d, sizeof(float) * (size_t)(ROWS * a.nb)) != 0;
            runs++;
            tq_kact_free(&a);
            tq_kact_free(&b);
            tq_kern_release(&k);
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(runs >= 10);
}

static void skip_q(uint64_t *rng) {
    TQ_CASE("tq_kact_skip_q: the AVX-512 fill writes qa and scales as before, q untouched; fits only qa-only products");
    if (!tq_kern_isa_supported(TQ_KISA_AVX512)) TQ_SKIP("no AVX-512 here");
    enum { C = 259 };
    static int8_t codes[16 * C];
    static float scale[16], x[ROWS * C];
    for (int i = 0; i < 16 * C; i++) codes[i] = (int8_t)(i % 201 - 100);
    for (int i = 0; i < 16; i++) scale[i] = 0.02f;
    tq_kmat kv;
    prepare(&kv, C, TQ_KISA_AVX512, codes, scale);
    CHECK(tq_kact_qa_only(&kv));
    tq_kact a, b;
    CHECK(tq_kact_init(&a, &kv, ROWS, C) == TQ_OK && tq_kact_init(&b, &kv, ROWS, C) == TQ_OK);
    for (int r = 0; r < ROWS; r++) fill(x + r * C, C, r, rng);
    tq_kact_begin(&a, ROWS, C);
    tq_kact_rows(&a, x, C, 0, ROWS);
    tq_kact_begin(&b, ROWS, C);
    tq_kact_skip_q(&b);
    size_t bytes = (size_t)(ROWS * b.kpad);
    memset(b.q, 0x5a, bytes);
    tq_kact_rows(&b, x, C, 0, 3);
    for (int r = 3; r < ROWS; r++) tq_kact_row_max(&b, x + r * C, r, tq_absmax_bits(x + r * C, C));
    CHECK(memcmp(a.qa, b.qa, bytes) == 0 && memcmp(a.d, b.d, sizeof(float) * ROWS) == 0);
    int untouched = 1;
    for (size_t i = 0; i < bytes; i++) untouched &= b.q[i] == 0x5a;
    CHECK(untouched);
    CHECK(tq_kact_fits(&b, &kv));
    if (tq_kern_isa_supported(TQ_KISA_AVX2)) {   /* a product reading q does not take b */
        tq_kmat k2;
        prepare(&k2, C, TQ_KISA_AVX2, codes, scale);
        CHECK(!tq_kact_qa_only(&k2));
        CHECK(!tq_kact_fits(&b, &k2));
        tq_kern_release(&k2);
    }
    tq_kact_begin(&b, ROWS, C);   /* begin undoes it: q written again */
    tq_kact_rows(&b, x, C, 0, ROWS);
    CHECK(memcmp(a.q, b.q, bytes) == 0);
    tq_kact_free(&a);
    tq_kact_free(&b);
    tq_kern_release(&kv);
}

static void vec_max(uint64_t *rng) {
    TQ_CASE("GELU / LayerNorm *_max forms: the plain forms' bytes and tq_absmax_bits of them (odd widths, edges)");
    if (!tq_vec_avx512()) TQ_SKIP("no AVX-512 F here (or TRUEQ_ISA turns it off)");
    static float x[MAXC + 1], a[MAXC + 1], b[MAXC + 1], w[MAXC], bb[MAXC];
    int bad = 0;
    for (int n = 1; n <= MAXC; n += n < 70 ? 1 : 97) {
        for (int r = 0; r < ROWS; r++) {
            fill(x, n, r, rng);
            memcpy(a, x, sizeof(float) * (size_t)n);
            memcpy(b, x, sizeof(float) * (size_t)n);
            a[n] = b[n] = 7.0f;
            tq_gelu_erf_avx512(a, n);
            uint32_t bits = tq_gelu_erf_max_avx512(b, n);
            bad += memcmp(a, b, sizeof(float) * (size_t)(n + 1)) != 0 || bits != tq_absmax_bits(a, n);
            if (r == 4) continue;   /* LayerNorm of a NaN row: NaN payloads are no contract */
            for (int i = 0; i < n; i++) { w[i] = 1.0f + 0.1f * tq_t_randn(rng); bb[i] = 0.1f * tq_t_randn(rng); }
            if (r == 2 || r == 3) x[r == 2 ? n / 2 : n - 1] = 40.0f;   /* finite for the norm */
            tq_enc_layernorm_ref(a, x, w, bb, n, 1e-12f);
            memcpy(b, x, sizeof(float) * (size_t)n);
            bits = tq_enc_layernorm_max_avx512(b, b, w, bb, n, 1e-12f);   /* in place, as the encoder runs it */
            bad += memcmp(a, b, sizeof(float) * (size_t)(n + 1)) != 0 || bits != tq_absmax_bits(a, n);
        }
    }
    CHECK_EQ_INT(bad, 0);
    float z[3] = {-0.0f, 0.0f, -0.0f};
    CHECK(tq_absmax_bits(z, 3) == 0 && tq_absmax_bits(z, 0) == 0);
}

void tq_tests(void) {
    uint64_t rng = 29;
    row_max(&rng);
    skip_q(&rng);
    vec_max(&rng);
}
