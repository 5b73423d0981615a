/* test_dequantize_rows.c — tq_dequantize_rows decodes any row range of every
 * codec, at every bit width and granularity it supports, to exactly the bytes
 * of the same rows of a whole-tensor tq_dequantize; ranges outside the tensor
 * are refused. Shapes are odd (rows and columns not multiples of a group or a
 * packing width) so offsets into packed codes and side tensors are exercised. */
#include "tq_test.h"
#include <stdlib.h>

static void check_codec(const tq_codec_info *ci, int bits, tq_granularity g) {
    const int64_t rows = 7, cols = g == TQ_GRAN_GROUP ? 96 : 37;
    tq_qparams p = {.codec = ci->id, .bits = bits, .gran = g, .group = g == TQ_GRAN_GROUP ? 32 : 0};
    tq_error e;
    if (tq_qparams_check(&p, "t", rows, cols, &e)) return;   /* a combination the codec refuses */
    tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(&p, rows, cols, &cd, cs, ad);
    CHECK(na >= 0);
    if (na < 0) return;
    uint64_t st = 42 + (uint64_t)ci->id * 131 + (uint64_t)bits * 7 + (uint64_t)g;
    float *w = malloc(sizeof(float) * (size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) w[i] = tq_t_randn(&st) * (1.0f + (float)(i % cols) / 8.0f);
    void *codes = calloc(1, tq_nbytes(cd, 2, cs) + 1);
    void *aux[TQ_MAX_AUX] = {0};
    for (int a = 0; a < na; a++) aux[a] = calloc(1, tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 8);
    float *full = malloc(sizeof(float) * (size_t)(rows * cols));
    float *part = malloc(sizeof(float) * (size_t)(rows * cols));
    CHECK_OK(tq_quantize(&p, "t", w, rows, cols, codes, aux, 0, &e), e);
    CHECK_OK(tq_dequantize(&p, rows, cols, codes, (const void *const *)aux, full, &e), e);
    /* tiles of 1, 2 and 3 rows cover every row offset */
    for (int64_t tile = 1; tile <= 3; tile++) {
        for (int64_t r0 = 0; r0 < rows; r0 += tile) {
            int64_t r1 = r0 + tile < rows ? r0 + tile : rows;
            memset(part, 0xff, sizeof(float) * (size_t)((r1 - r0) * cols));
            CHECK_OK(tq_dequantize_rows(&p, rows, cols, r0, r1, codes, (const void *const *)aux, part, &e), e);
            CHECK_MSG(memcmp(part, full + r0 * cols, sizeof(float) * (size_t)((r1 - r0) * cols)) == 0,
                      "%s/%d/gran %d rows [%lld, %lld) differ from the whole-tensor decode", ci->name, bits, (int)g,
                      (long long)r0, (long long)r1);
        }
    }
    CHECK_ERR(tq_dequantize_rows(&p, rows, cols, 3, rows + 1, codes, (const void *const *)aux, part, &e), e, TQ_E_ARG,
              "rows [3, 8)");
    CHECK_ERR(tq_dequantize_rows(&p, rows, cols, 4, 2, codes, (const void *const *)aux, part, &e), e, TQ_E_ARG,
              "of a 7-row tensor");
    CHECK_OK(tq_dequantize_rows(&p, rows, cols, 5, 5, codes, (const void *const *)aux, part, &e), e);
    free(w); free(codes); free(full); free(part);
    for (int a = 0; a < na; a++) free(aux[a]);
}

void tq_tests(void) {
    TQ_CASE("row-range decode equals the whole-tensor decode for every codec, bits and granularity");
    int combos = 0;
    for (int i = 0; i < tq_codec_count(); i++) {
        const tq_codec_info *ci = tq_codec_at(i);
        if (ci->decode_only) continue;   /* foreign layouts: test_qlayout decodes them */
        for (int b = 1; b <= 16; b++) {
            if (!(ci->bits_mask & (1u << b))) continue;
            for (int g = TQ_GRAN_TENSOR; g <= TQ_GRAN_GROUP; g++)
                if (ci->gran_mask & (1u << g)) { check_codec(ci, b, (tq_granularity)g); combos++; }
        }
    }
    CHECK_MSG(combos >= 10, "only %d codec/bits/granularity combinations were tried", combos);
}
