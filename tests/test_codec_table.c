/* test_codec_table.c — the codec trait table is complete and is the only
 * source of codec knowledge: each row's id is its index, every trait is there,
 * names and aliases are unique, the defaults are the documented ones, the
 * granularity names round-trip, the range verify applies is the row's own,
 * and the per-row flags of the layouts are what a row-range decode needs. */
#include "tq_test.h"
#include "codec/codec.h"
#include "trueq_verify.h"
#include <stdlib.h>

static void completeness(void) {
    TQ_CASE("table: the library's own check passes; every id has a row whose id is its index");
    tq_error e;
    CHECK_OK(tq_codec_table_check(&e), e);
    CHECK_EQ_INT(tq_codec_count(), TQ_CODEC_COUNT - 1);
    CHECK(tq_codec_impl_get(TQ_CODEC_NONE) == NULL);
    CHECK(tq_codec_impl_get(TQ_CODEC_COUNT) == NULL);
    CHECK(tq_codec_by_id((tq_codec_id)-1) == NULL);
    for (int id = 1; id < TQ_CODEC_COUNT; id++) {
        const tq_codec_impl *c = tq_codec_impl_get((tq_codec_id)id);
        CHECK_MSG(c != NULL, "id %d has no row", id);
        if (!c) continue;
        CHECK_EQ_INT(c->info.id, id);
        CHECK(tq_codec_by_id((tq_codec_id)id) == &c->info);
        CHECK(tq_codec_at(id - 1) == &c->info);

        TQ_CASE("table: every row has layout, quantize, dequantize, rows decode, range, self-test, defaults");
        if (c->info.decode_only) {   /* a foreign layout trueq reads: decode traits only, refused by tq_quantize */
            CHECK_MSG(c->layout && !c->quantize && c->dequantize && c->dequantize_rows && c->block_range &&
                      !c->selftest, "%s", c->info.name);
            tq_qparams q = {c->info.id, c->info.default_bits, c->info.default_gran, c->info.default_group, 0, 0, 0, 0};
            static float w[8 * 128];
            static uint8_t codes[8 * 128];
            void *aux[TQ_MAX_AUX] = {codes, codes, codes};
            CHECK_ERR(tq_quantize(&q, "w", w, 8, 128, codes, aux, 0, &e), e, TQ_E_UNSUPPORTED, "reads but does not write");
            continue;
        }
        /* a range rule from the side tensors, or (scales inside the blocks) from the codes */
        CHECK_MSG(c->layout && c->quantize && c->dequantize && c->dequantize_rows &&
                  (!c->block_range != !c->block_range_codes), "%s", c->info.name);
        CHECK_MSG(c->selftest && c->selftest->ncases > 0 &&
                  (c->block_range ? c->selftest->block && c->selftest->weight
                                  : c->selftest->code_bytes && c->selftest->nknown > 0 && c->selftest->cols > 0),
                  "%s", c->info.name);
        CHECK_MSG(c->info.bits_mask & (1u << c->info.default_bits), "%s: default bits %d", c->info.name,
                  c->info.default_bits);
        CHECK_MSG(c->info.gran_mask & (1u << c->info.default_gran), "%s: default granularity", c->info.name);
        CHECK((c->info.default_gran == TQ_GRAN_GROUP) == (c->info.default_group > 0));
        for (int k = 0; c->selftest && k < c->selftest->ncases; k++) {
            tq_qparams q = c->selftest->cases[k].q;
            CHECK_MSG(q.codec == c->info.id, "%s case %d names codec %d", c->info.name, k, (int)q.codec);
            int64_t cols = c->selftest->cols > 0 ? c->selftest->cols : 64;
            CHECK_MSG(tq_qparams_check(&q, "case", 6, cols, &e) == TQ_OK, "%s case %d: %s", c->info.name, k, e.msg);
        }
    }
}

static void names(void) {
    TQ_CASE("names and aliases: each one finds its own row, and no two rows share one");
    int seen = 0;
    for (int id = 1; id < TQ_CODEC_COUNT; id++) {
        const tq_codec_impl *c = tq_codec_impl_get((tq_codec_id)id);
        CHECK(tq_codec_by_name(c->info.name) == &c->info);
        seen++;
        for (const char *const *a = c->aliases; a && *a; a++) {
            CHECK_MSG(tq_codec_by_name(*a) == &c->info, "alias %s of %s", *a, c->info.name);
            for (int j = 1; j < TQ_CODEC_COUNT; j++)
                CHECK_MSG(j == id || strcasecmp(tq_codec_impl_get((tq_codec_id)j)->info.name, *a) != 0,
                          "alias %s is also a codec name", *a);
            seen++;
        }
    }
    CHECK_EQ_INT(seen, (TQ_CODEC_COUNT - 1) + 11);  /* every codec's name (the decode-only foreign rows have no alias; ggml none; mlx: mlx-affine), and the aliases sym symmetric linear, affine asym, qins log, qins-log-seeds, rational qins-rat */
    CHECK(tq_codec_by_name("SYM")->id == TQ_CODEC_LINEAR_SYM);
    CHECK(tq_codec_by_name("qins-rat")->id == TQ_CODEC_QINS_RATIONAL);
    CHECK(tq_codec_by_name("qins-log-seeds")->id == TQ_CODEC_QINS_LOG_2B);
    CHECK(tq_codec_by_name("") == NULL);
    CHECK(tq_codec_by_name(NULL) == NULL);
}

static void defaults(void) {
    TQ_CASE("defaults: the widest bits; NF4 in groups of 64, the rest per channel; alpha only for rational");
    static const struct { tq_codec_id id; int bits; tq_granularity g; int64_t group; int alpha; } W[] = {
        {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_CHANNEL, 0, 0},    {TQ_CODEC_LINEAR_AFFINE, 8, TQ_GRAN_CHANNEL, 0, 0},
        {TQ_CODEC_QINS_LOG, 8, TQ_GRAN_CHANNEL, 0, 0},      {TQ_CODEC_QINS_LOG_2B, 8, TQ_GRAN_CHANNEL, 0, 0},
        {TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_CHANNEL, 0, 1}, {TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 64, 0},
    };
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++) {
        const tq_codec_info *ci = tq_codec_by_id(W[i].id);
        CHECK_EQ_INT(ci->default_bits, W[i].bits);
        CHECK_EQ_INT(ci->default_gran, W[i].g);
        CHECK_EQ_INT(ci->default_group, W[i].group);
        CHECK_EQ_INT(ci->uses_alpha, W[i].alpha);
    }

    TQ_CASE("granularity names: one table, both ways");
    for (int g = 0; g < TQ_GRAN_COUNT; g++) CHECK_EQ_INT(tq_gran_from_name(tq_gran_name((tq_granularity)g)), g);
    CHECK(strcmp(tq_gran_name(TQ_GRAN_GROUP), "group") == 0);
    CHECK(strcmp(tq_gran_name((tq_granularity)3), "?") == 0);
    CHECK(strcmp(tq_gran_name((tq_granularity)-1), "?") == 0);
    CHECK_EQ_INT(tq_gran_from_name("channel"), TQ_GRAN_CHANNEL);
    CHECK_EQ_INT(tq_gran_from_name("row"), -1);      /* exact names only: what files store */
    CHECK_EQ_INT(tq_gran_from_name("Tensor"), -1);
    CHECK_EQ_INT(tq_gran_from_name("group:64"), -1);
    CHECK_EQ_INT(tq_gran_from_name(""), -1);
    CHECK_EQ_INT(tq_gran_from_name(NULL), -1);
}

/* Quantize a [rows, cols] matrix with q; the caller frees codes, aux[] and deq. */
static int quantized(const tq_qparams *q, int64_t rows, int64_t cols, void **codes, void *aux[TQ_MAX_AUX],
                     tq_aux_desc ad[TQ_MAX_AUX], float **deq) {
    tq_dtype cd; int64_t cs[2];
    int na = tq_qparams_layout(q, rows, cols, &cd, cs, ad);
    uint64_t st = 7 + (uint64_t)q->codec * 31 + (uint64_t)q->gran;
    float *w = malloc(sizeof(float) * (size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) w[i] = tq_t_randn(&st) * (1.0f + (float)(i % 5));
    *codes = calloc(1, tq_nbytes(cd, 2, cs) + 1);
    for (int a = 0; a < TQ_MAX_AUX; a++)
        aux[a] = a < na ? calloc(1, tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 8) : NULL;
    *deq = malloc(sizeof(float) * (size_t)(rows * cols));
    tq_error e;
    CHECK_OK(tq_quantize(q, "t", w, rows, cols, *codes, aux, 0, &e), e);
    CHECK_OK(tq_dequantize(q, rows, cols, *codes, (const void *const *)aux, *deq, &e), e);
    free(w);
    return na;
}

static void ranges(void) {
    TQ_CASE("verify's block ranges are the row's block_range, and hold every decoded value");
    const int64_t rows = 5;
    int tried = 0;
    for (int id = 1; id < TQ_CODEC_COUNT; id++) {
        const tq_codec_impl *c = tq_codec_impl_get((tq_codec_id)id);
        if (!c->selftest) continue;   /* decode-only rows: no self-test cases */
        const int64_t cols = c->selftest->cols > 0 ? c->selftest->cols : 64;   /* ggml: rows of 256 */
        for (int k = 0; k < c->selftest->ncases; k++) {
            const tq_qparams *q = &c->selftest->cases[k].q;
            void *codes, *aux[TQ_MAX_AUX];
            tq_aux_desc ad[TQ_MAX_AUX];
            float *deq;
            quantized(q, rows, cols, &codes, aux, ad, &deq);
            tq_tensor t;
            memset(&t, 0, sizeof t);
            t.name = "t";
            t.q = *q;
            t.data = codes;
            for (int a = 0; a < TQ_MAX_AUX; a++) t.aux[a] = aux[a];
            int64_t nb = tq_verify_block_count(q, rows, cols), glen, ng = tq_groups_per_row(q, cols, &glen);
            float *lohi = malloc(sizeof(float) * 2 * (size_t)nb);
            tq_error e;
            CHECK_OK(tq_verify_block_ranges(&t, rows, cols, lohi, &e), e);
            int bad = 0, outside = 0;
            for (int64_t b = 0; b < nb; b++) {
                double lo, hi;
                CHECK_OK(c->block_range ? c->block_range(q, (const void *const *)aux, b, &lo, &hi, &e)
                                        : c->block_range_codes(q, rows, cols, codes, b, &lo, &hi, &e), e);
                bad += lohi[2 * b] != (float)lo || lohi[2 * b + 1] != (float)hi;
            }
            for (int64_t r = 0; r < rows; r++)
                for (int64_t col = 0; col < cols; col++) {
                    int64_t b = q->gran == TQ_GRAN_TENSOR ? 0 : q->gran == TQ_GRAN_CHANNEL ? r : r * ng + col / glen;
                    float y = deq[r * cols + col], lo = lohi[2 * b], hi = lohi[2 * b + 1];
                    outside += !(y >= lo - 1e-6f * fabsf(lo) && y <= hi + 1e-6f * fabsf(hi));
                }
            CHECK_MSG(bad == 0, "%s case %d: %d blocks with another range than the row's", c->info.name, k, bad);
            CHECK_MSG(outside == 0, "%s case %d: %d decoded values outside their block's range", c->info.name, k,
                      outside);
            tried++;
            free(lohi); free(codes); free(deq);
            for (int a = 0; a < TQ_MAX_AUX; a++) free(aux[a]);
        }
    }
    CHECK_MSG(tried >= 30, "only %d configurations", tried);

    TQ_CASE("ranges: a corrupt rational side tensor is a format error; an unknown codec is unsupported");
    float side[2] = {0.0f, 1.0f};   /* alpha must be > 0 */
    tq_tensor t;
    memset(&t, 0, sizeof t);
    t.name = "bad";
    t.q = (tq_qparams){TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    t.aux[0] = side;
    float lohi[2];
    tq_error e;
    CHECK_ERR(tq_verify_block_ranges(&t, 2, 2, lohi, &e), e, TQ_E_FORMAT, "alpha 0");
    t.q.codec = (tq_codec_id)77;
    CHECK_ERR(tq_verify_block_ranges(&t, 2, 2, lohi, &e), e, TQ_E_UNSUPPORTED, "codec 77");
}

static void per_row_flags(void) {
    TQ_CASE("layouts: a side tensor is per row exactly when it has one entry (or row of entries) per row");
    const int64_t rows = 7, cols = 64;
    for (int id = 1; id < TQ_CODEC_COUNT; id++) {
        const tq_codec_impl *c = tq_codec_impl_get((tq_codec_id)id);
        if (!c->selftest) continue;   /* decode-only rows: no self-test cases */
        for (int k = 0; k < c->selftest->ncases; k++) {
            const tq_qparams *q = &c->selftest->cases[k].q;
            tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
            int64_t qc = c->selftest->cols > 0 ? c->selftest->cols : cols;
            int na = tq_qparams_layout(q, rows, qc, &cd, cs, ad);
            /* side-tensor codecs have one at least; in-block codecs (ggml) none */
            CHECK_MSG((c->block_range ? na >= 1 : na == 0) && cs[0] == rows, "%s case %d",
                      c->info.name, k);
            for (int a = 0; a < na; a++) {
                int want = ad[a].ndim >= 1 && ad[a].shape[0] == rows;
                CHECK_MSG(ad[a].per_row == want, "%s case %d side %s: per_row %d", c->info.name, k, ad[a].suffix,
                          ad[a].per_row);
            }
        }
    }
}

static void selftest_cases(void) {
    TQ_CASE("selftest: runs exactly the rows' cases, 6 checks (dtype, scale, positive-scale, range, half-step, zeros) "
            "x 3 vectors each (in-block codecs: dtype, finite, range x 3 vectors, and their known answers), all passing");
    tq_selftest_result *r = NULL;
    int64_t n = 0, side = 0, inblock = 0, known = 0;
    tq_error e;
    CHECK_OK(tq_selftest_run(&r, &n, &e), e);
    for (int id = 1; id < TQ_CODEC_COUNT; id++) {
        const tq_codec_selftest *ts = tq_codec_impl_get((tq_codec_id)id)->selftest;
        if (!ts) continue;
        if (ts->known) { inblock += ts->ncases; known += ts->nknown; } else side += ts->ncases;
    }
    /* an in-block case checks range only where the vector could be quantized (edges may be refused) */
    CHECK_MSG(n >= side * 3 * 6 + inblock * 3 * 2 + known && n <= side * 3 * 6 + inblock * 3 * 3 + known, "%lld results",
              (long long)n);
    int64_t known_seen = 0;
    for (int64_t i = 0; i < n; i++) {
        known_seen += strcmp(r[i].check, "known-answer") == 0;
        if (strcmp(r[i].check, "known-answer") == 0) CHECK_MSG(r[i].pass, "%s: %s", r[i].codec, r[i].detail);
    }
    CHECK_EQ_INT(known_seen, known);
    for (int id = 1; id < TQ_CODEC_COUNT; id++) {
        const tq_codec_impl *c = tq_codec_impl_get((tq_codec_id)id);
        if (!c->selftest) continue;   /* decode-only rows: no self-test cases */
        for (int k = 0; k < c->selftest->ncases; k++) {
            char name[64];
            tq_qparams_str(&c->selftest->cases[k].q, name, sizeof name);
            strncat(name, c->selftest->cases[k].tag, sizeof name - strlen(name) - 1);
            int hits = 0, fails = 0;
            for (int64_t i = 0; i < n; i++)
                if (strcmp(r[i].codec, name) == 0 && strcmp(r[i].check, "known-answer") != 0) { hits++; fails += !r[i].pass; }
            bool count_ok = c->selftest->known ? hits >= 3 * 2 && hits <= 3 * 3 : hits == 3 * 6;
            CHECK_MSG(count_ok && fails == 0, "%s: %d results, %d failing", name, hits, fails);
        }
    }
    free(r);
}

void tq_tests(void) {
    completeness();
    names();
    defaults();
    ranges();
    per_row_flags();
    selftest_cases();
}
