/*
 * test_codec_ggml.c — the codec row "ggml" (src/codec/ggml.c): ggml block
 * types as a codec of the table. Parameters and layout, known-answer blocks
 * through the public codec API, row tiles equal to the whole, the codec's
 * bytes equal to the ggml type table's reference quantizer, the range of a
 * block against every code it could hold, and the errors: an unsupported
 * type named, a non-finite scale, values beyond the type, bad parameters;
 * and the trueq descriptor round trip ("ggml_type": "Q4_K").
 */
#include "tq_test.h"
#include "codec/codec.h"
#include "ggml/ggml_types.h"
#include "io/model.h"
#include "trueq_verify.h"
#include <stdlib.h>

static uint64_t rng(uint64_t *s) { *s = *s * 6364136223846793005ULL + 1442695040888963407ULL; return *s >> 33; }
static float unif(uint64_t *s) { return (float)((double)rng(s) / 2147483648.0) * 2.0f - 1.0f; }

static void params(void) {
    tq_error e;
    TQ_CASE("ggml: a row of the codec table; qparams per type: code width, group = block size");
    CHECK_OK(tq_codec_table_check(&e), e);
    const tq_codec_info *ci = tq_codec_by_name("ggml");
    CHECK(ci && ci->id == TQ_CODEC_GGML && ci->default_ggml_type == TQ_GGML_Q8_0);
    static const struct { int type, bits; int64_t block; const char *str; } W[] = {
        {TQ_GGML_Q4_K, 4, 256, "ggml/Q4_K"}, {TQ_GGML_Q6_K, 6, 256, "ggml/Q6_K"}, {TQ_GGML_Q8_0, 8, 32, "ggml/Q8_0"},
        {TQ_GGML_TQ2_0, 2, 256, "ggml/TQ2_0"}, {TQ_GGML_Q5_1, 5, 32, "ggml/Q5_1"}, {TQ_GGML_Q3_K, 3, 256, "ggml/Q3_K"},
        {TQ_GGML_IQ2_XXS, 2, 256, "ggml/IQ2_XXS"}, {TQ_GGML_IQ1_S, 1, 256, "ggml/IQ1_S"},
    };
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++) {
        tq_qparams q;
        CHECK_OK(tq_qparams_ggml(W[i].type, &q, &e), e);
        char s[64];
        CHECK_MSG(q.codec == TQ_CODEC_GGML && q.ggml_type == W[i].type && q.bits == W[i].bits && q.gran == TQ_GRAN_GROUP &&
                  q.group == W[i].block && strcmp(tq_qparams_str(&q, s, sizeof s), W[i].str) == 0,
                  "%s: bits %d group %lld (%s)", W[i].str, q.bits, (long long)q.group, s);
        tq_dtype cd;
        int64_t cs[2];
        tq_aux_desc ad[TQ_MAX_AUX];
        CHECK_EQ_INT(tq_qparams_layout(&q, 3, 4 * W[i].block, &cd, cs, ad), 0);   /* no side tensors */
        CHECK(cd == TQ_DTYPE_U8 && cs[0] == 3 && cs[1] == 4 * (int64_t)tq_ggml_type(W[i].type)->type_size);
    }
    CHECK_EQ_INT(strcmp(tq_ggml_type_name(TQ_GGML_Q4_K), "Q4_K"), 0);

    TQ_CASE("ggml: every block type of the ggml type table has a code width, and a range rule where it decodes");
    for (int id = 0; id < TQ_GGML_TYPE_COUNT; id++) {
        const tq_ggml_type_info *ti = tq_ggml_type(id);
        if (!ti || ti->block < 2) continue;
        tq_qparams q;
        CHECK_MSG(tq_qparams_ggml(id, &q, &e) == TQ_OK && q.bits >= 1 && q.bits <= 8, "%s: %s", ti->name, e.msg);
        if (!ti->dequantize_row) continue;
        uint8_t blk[512] = {0};
        double lo, hi;
        CHECK_MSG(tq_codec_impl_get(TQ_CODEC_GGML)->block_range_codes(&q, 1, ti->block, blk, 0, &lo, &hi, &e) == TQ_OK,
                  "%s: %s", ti->name, e.msg);
    }
    CHECK(tq_ggml_type_name(4) == NULL && tq_ggml_type_name(99) == NULL);

    TQ_CASE("ggml: plain element types and removed ids are not block types; bad parameters are refused");
    tq_qparams q;
    CHECK_ERR(tq_qparams_ggml(TQ_GGML_F32, &q, &e), e, TQ_E_ARG, "ggml type 0 (F32) is not a block type");
    CHECK_ERR(tq_qparams_ggml(TQ_GGML_BF16, &q, &e), e, TQ_E_ARG, "(BF16)");
    CHECK_ERR(tq_qparams_ggml(4, &q, &e), e, TQ_E_ARG, "ggml type 4 (unknown)");
    CHECK_ERR(tq_qparams_ggml(-1, &q, &e), e, TQ_E_ARG, "ggml type -1");
    CHECK_OK(tq_qparams_ggml(TQ_GGML_Q4_K, &q, &e), e);
    CHECK_ERR(tq_qparams_check(&q, "w", 2, 300, &e), e, TQ_E_SHAPE, "group size 256 does not divide the row length 300");
    tq_qparams b = q;
    b.bits = 8;                                     /* not Q4_K's code width */
    CHECK_ERR(tq_qparams_check(&b, "w", 2, 256, &e), e, TQ_E_ARG, "invalid parameters for codec ggml");
    b = q; b.group = 32;
    CHECK_ERR(tq_qparams_check(&b, "w", 2, 256, &e), e, TQ_E_ARG, "invalid parameters for codec ggml");
    b = q; b.ggml_type = 0;                         /* unset */
    CHECK_ERR(tq_qparams_check(&b, "w", 2, 256, &e), e, TQ_E_ARG, "invalid parameters for codec ggml");
    b = q; b.gran = TQ_GRAN_CHANNEL; b.group = 0;
    CHECK_ERR(tq_qparams_check(&b, "w", 2, 256, &e), e, TQ_E_ARG, "does not support channel granularity");
}

/* Q4_1, d = 0.5, m = -1: byte j holds element j (low nibble) and j + 16 (high);
 * w = d * q + m. Q6_K, d = 2, every scale 3, ql = 0x00, qh = 0xff: q = 48 - 32. */
static void known(void) {
    TQ_CASE("ggml: known-answer blocks decode through tq_dequantize as their formula says");
    tq_error e;
    uint8_t b[2 * 210];
    float want[512], got[512];
    tq_qparams q;
    tq_qparams_ggml(TQ_GGML_Q4_1, &q, &e);
    tq_st16(b, 0x3800); tq_st16(b + 2, 0xbc00);    /* 0.5, -1 */
    for (int j = 0; j < 16; j++) {
        b[4 + j] = (uint8_t)(j | (15 - j) << 4);
        want[j] = 0.5f * (float)j - 1.0f;
        want[j + 16] = 0.5f * (float)(15 - j) - 1.0f;
    }
    CHECK_OK(tq_dequantize(&q, 1, 32, b, NULL, got, &e), e);
    CHECK(memcmp(got, want, 32 * sizeof(float)) == 0);
    tq_qparams_ggml(TQ_GGML_Q6_K, &q, &e);
    for (int k = 0; k < 2; k++) {                    /* two rows of one block each */
        uint8_t *p = b + 210 * k;
        memset(p, 0x00, 128);
        memset(p + 128, 0xff, 64);
        memset(p + 192, k ? 0xfd : 3, 16);           /* int8 scales 3, and -3 in row 1 */
        tq_st16(p + 208, 0x4000);                    /* 2 */
        for (int i = 0; i < 256; i++) want[256 * k + i] = 2.0f * (k ? -3.0f : 3.0f) * 16.0f;
    }
    CHECK_OK(tq_dequantize(&q, 2, 256, b, NULL, got, &e), e);
    CHECK(memcmp(got, want, 512 * sizeof(float)) == 0);
    float one[256];
    CHECK_OK(tq_dequantize_rows(&q, 2, 256, 1, 2, b, NULL, one, &e), e);   /* row 1 alone */
    CHECK(memcmp(one, want + 256, sizeof one) == 0);
}

static void tiles_and_bytes(void) {
    TQ_CASE("ggml: row tiles equal the whole decode; the codec's codes are the reference quantizer's bytes");
    const int types[] = {TQ_GGML_Q4_0, TQ_GGML_Q5_1, TQ_GGML_Q8_0, TQ_GGML_Q2_K, TQ_GGML_Q4_K, TQ_GGML_Q6_K, TQ_GGML_TQ1_0};
    const int64_t rows = 7, cols = 512;
    float *w = malloc(sizeof(float) * rows * cols), *whole = malloc(sizeof(float) * rows * cols),
          *tile = malloc(sizeof(float) * rows * cols);
    uint8_t *codes = malloc((size_t)(rows * cols * 2)), *ref = malloc((size_t)(rows * cols * 2));
    uint64_t s = 7;
    for (int64_t i = 0; i < rows * cols; i++) w[i] = unif(&s) * (float)(1 + i / cols);
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        tq_qparams q;
        tq_error e;
        tq_qparams_ggml(types[k], &q, &e);
        const tq_ggml_type_info *ti = tq_ggml_type(types[k]);
        int64_t rb = cols / ti->block * (int64_t)ti->type_size;
        CHECK_OK(tq_quantize(&q, "w", w, rows, cols, codes, NULL, 0, &e), e);
        CHECK_OK(tq_ggml_quantize(types[k], w, ref, rows * cols, "w", &e), e);
        CHECK_MSG(memcmp(codes, ref, (size_t)(rows * rb)) == 0, "%s: codec bytes differ from the reference", ti->name);
        CHECK_OK(tq_dequantize(&q, rows, cols, codes, NULL, whole, &e), e);
        int64_t at = 0;
        for (int64_t r0 = 0; r0 < rows; r0 += 3) {          /* tiles of 3, 3, 1 rows */
            int64_t r1 = r0 + 3 < rows ? r0 + 3 : rows;
            CHECK_OK(tq_dequantize_rows(&q, rows, cols, r0, r1, codes, NULL, tile + at, &e), e);
            at += (r1 - r0) * cols;
        }
        CHECK_MSG(memcmp(tile, whole, sizeof(float) * rows * cols) == 0, "%s: tiles differ from the whole", ti->name);
    }
    free(w); free(whole); free(tile); free(codes); free(ref);
}

/* Every code a block could hold decodes within the block's range, and the
 * block's own values lie within it. */
static void ranges(void) {
    TQ_CASE("ggml: the range of a block holds every value any code decodes to");
    const int types[] = {TQ_GGML_Q4_0, TQ_GGML_Q4_1, TQ_GGML_Q5_0, TQ_GGML_Q5_1, TQ_GGML_Q8_0, TQ_GGML_Q2_K,
                         TQ_GGML_Q3_K, TQ_GGML_Q4_K, TQ_GGML_Q5_K, TQ_GGML_Q6_K, TQ_GGML_Q8_K, TQ_GGML_IQ4_NL,
                         TQ_GGML_IQ4_XS, TQ_GGML_TQ1_0, TQ_GGML_TQ2_0};
    uint64_t s = 11;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const tq_ggml_type_info *ti = tq_ggml_type(types[k]);
        tq_qparams q;
        tq_error e;
        tq_qparams_ggml(types[k], &q, &e);
        float w[256], y[256];
        for (int i = 0; i < 256; i++) w[i] = unif(&s) * 3.0f;
        uint8_t blk[512], mut[512];
        int64_t n = ti->block;
        if (ti->quantize_row_ref) ti->quantize_row_ref(w, blk, n);
        else {   /* no quantizer (IQ4_*): random bytes with a sane fp16 scale at 0 */
            for (size_t i = 0; i < ti->type_size; i++) blk[i] = (uint8_t)rng(&s);
            tq_st16(blk, 0x3c00);
            if (types[k] == TQ_GGML_IQ4_XS) tq_st16(blk + 2, (uint16_t)rng(&s));
        }
        double lo, hi;
        CHECK_OK(tq_codec_impl_get(TQ_CODEC_GGML)->block_range_codes(&q, 1, n, blk, 0, &lo, &hi, &e), e);
        double mn = INFINITY, mx = -INFINITY;
        int outside = 0, mutants = 0;
        for (int trial = 0; trial < 400; trial++) {
            /* random bytes anywhere; the range depends on the scale bytes only, so a
             * mutant with the same range holds other codes under the same scales
             * (one whose range moved had a scale byte changed: skipped) */
            memcpy(mut, blk, ti->type_size);
            for (int f = 0; f < 8; f++) mut[(size_t)rng(&s) % ti->type_size] = (uint8_t)rng(&s);
            double l2, h2;
            tq_codec_impl_get(TQ_CODEC_GGML)->block_range_codes(&q, 1, n, mut, 0, &l2, &h2, &e);
            if (l2 != lo || h2 != hi) continue;
            mutants++;
            ti->dequantize_row(mut, y, n);
            for (int64_t i = 0; i < n; i++) {
                outside += y[i] < lo || y[i] > hi;
                if (y[i] < mn) mn = y[i];
                if (y[i] > mx) mx = y[i];
            }
        }
        CHECK_MSG(outside == 0, "%s: %d values outside [%g, %g]", ti->name, outside, lo, hi);
        CHECK_MSG(mutants >= 20, "%s: only %d blocks with other codes tried", ti->name, mutants);
        CHECK_MSG(lo <= hi && mn >= lo && mx <= hi, "%s: decoded [%g, %g] in range [%g, %g]", ti->name, mn, mx, lo, hi);
        ti->dequantize_row(blk, y, n);
        bool inside = true;
        for (int64_t i = 0; i < n; i++) inside = inside && y[i] >= lo && y[i] <= hi;
        CHECK_MSG(inside, "%s: the block's own values leave its range", ti->name);
    }
    TQ_CASE("ggml: verify's block ranges read the codes (no side tensors)");
    tq_qparams q;
    tq_error e;
    tq_qparams_ggml(TQ_GGML_Q8_0, &q, &e);
    uint8_t b[34 * 2];
    for (int k = 0; k < 2; k++) {
        tq_st16(b + 34 * k, k ? 0x4000 : 0x3800);    /* d = 2, 0.5 */
        memset(b + 34 * k + 2, 1, 32);
    }
    tq_tensor t;
    memset(&t, 0, sizeof t);
    t.name = "w"; t.q = q; t.data = b; t.quantized = 1;
    float lohi[4];
    CHECK_OK(tq_verify_block_ranges(&t, 1, 64, lohi, &e), e);
    CHECK(lohi[0] == -64.0f && lohi[1] == 63.5f && lohi[2] == -256.0f && lohi[3] == 254.0f);
    t.data = NULL;
    CHECK_ERR(tq_verify_block_ranges(&t, 1, 64, lohi, &e), e, TQ_E_ARG, "no codes");
}

static void errors(void) {
    tq_error e;
    tq_qparams q;
    float y[256], w[256];
    uint8_t b[300];
    memset(b, 0, sizeof b);
    TQ_CASE("ggml: a type trueq cannot decode is named, never decoded to a wrong number");
    CHECK_OK(tq_qparams_ggml(TQ_GGML_IQ2_XXS, &q, &e), e);
    CHECK_OK(tq_qparams_check(&q, "w", 1, 256, &e), e);
    CHECK_ERR(tq_dequantize(&q, 1, 256, b, NULL, y, &e), e, TQ_E_UNSUPPORTED, "unsupported ggml type IQ2_XXS (16)");
    for (int i = 0; i < 256; i++) w[i] = (float)i;
    CHECK_ERR(tq_quantize(&q, "w", w, 1, 256, b, NULL, 0, &e), e, TQ_E_UNSUPPORTED, "no reference quantizer");
    double lo, hi;
    CHECK_ERR(tq_codec_impl_get(TQ_CODEC_GGML)->block_range_codes(&q, 1, 256, b, 0, &lo, &hi, &e), e, TQ_E_UNSUPPORTED,
              "IQ2_XXS: no range rule");
    CHECK_OK(tq_qparams_ggml(TQ_GGML_IQ4_XS, &q, &e), e);   /* decodes, has no quantizer */
    CHECK_ERR(tq_quantize(&q, "w", w, 1, 256, b, NULL, 0, &e), e, TQ_E_UNSUPPORTED, "IQ4_XS (23): trueq has no reference quantizer");

    TQ_CASE("ggml: an Inf/NaN block scale is a format error; values beyond the type are refused");
    tq_qparams_ggml(TQ_GGML_Q8_0, &q, &e);
    memset(b, 1, 68);
    tq_st16(b, 0x3c00);
    tq_st16(b + 34, 0x7c00);                         /* row 1: d = +Inf */
    CHECK_OK(tq_dequantize(&q, 1, 32, b, NULL, y, &e), e);
    CHECK_ERR(tq_dequantize(&q, 2, 32, b, NULL, y, &e), e, TQ_E_FORMAT, "row 1 decodes to a non-finite value");
    for (int i = 0; i < 32; i++) w[i] = i == 5 ? 1e30f : 1.0f;   /* d = 1e30/127 overflows fp16 */
    CHECK_ERR(tq_quantize(&q, "w", w, 1, 32, b, NULL, 0, &e), e, TQ_E_VALUE, "Q8_0: row 0 holds values too large");
    w[5] = 60000.0f;
    CHECK_OK(tq_quantize(&q, "w", w, 1, 32, b, NULL, 0, &e), e);
}

static void descriptor(void) {
    TQ_CASE("ggml: trueq's descriptor stores the type by name and reads it back");
    tq_qparams q;
    tq_error e;
    tq_qparams_ggml(TQ_GGML_Q4_K, &q, &e);
    const int64_t shape[2] = {4, 512};
    char *d = tq_descriptor_render(&q, 0, TQ_DTYPE_F16, 2, shape, NULL);
    CHECK(d && strstr(d, "\"codec\":\"ggml\"") && strstr(d, "\"ggml_type\":\"Q4_K\"") && strstr(d, "\"group\":256"));
    tq_tensor t;
    memset(&t, 0, sizeof t);
    CHECK_OK(tq_descriptor_parse(d, "w", &t, &e), e);
    CHECK(t.q.codec == TQ_CODEC_GGML && t.q.ggml_type == TQ_GGML_Q4_K && t.q.bits == 4 && t.q.group == 256 &&
          t.orig_dtype == TQ_DTYPE_F16 && t.numel == 2048);
    free(d);
    CHECK_ERR(tq_descriptor_parse("{\"codec\":\"ggml\",\"bits\":4,\"granularity\":\"group\",\"group\":256,"
                                  "\"ggml_type\":\"Q9_Z\",\"dtype\":\"F32\",\"shape\":[1,256]}", "w", &t, &e),
              e, TQ_E_FORMAT, "tensor \"w\": descriptor names an unknown ggml_type");
    CHECK_ERR(tq_descriptor_parse("{\"codec\":\"ggml\",\"bits\":4,\"granularity\":\"group\",\"group\":256,"
                                  "\"ggml_type\":12.5,\"dtype\":\"F32\",\"shape\":[1,256]}", "w", &t, &e),
              e, TQ_E_FORMAT, "unknown ggml_type");
}

void tq_tests(void) {
    params();
    known();
    tiles_and_bytes();
    ranges();
    errors();
    descriptor();
}
