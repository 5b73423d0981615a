/* The weight-matrix type (src/nn/ops/wmat.c): a quantized matrix of every
 * codec, bits and granularity, decoded by row tiles (alone and stacked with
 * others), gives exactly the bytes of the whole-tensor float32 decode; a
 * float32 matrix copies its rows; non-finite weights are refused at keep. */
#include "tq_test.h"
#include "nn/ops/wmat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct qt { tq_tensor t; void *codes; void *aux[TQ_MAX_AUX]; float *full; } qt;

/* A [rows, cols] tensor quantized with p, as tq_model presents one. */
static int make(qt *o, const tq_qparams *p, int64_t rows, int64_t cols, uint64_t seed, float poison) {
    memset(o, 0, sizeof *o);
    tq_error e;
    if (tq_qparams_check(p, "t", rows, cols, &e)) return 0;
    tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(p, rows, cols, &cd, cs, ad);
    if (na < 0) return 0;
    float *w = malloc(sizeof(float) * (size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) w[i] = tq_t_randn(&seed) * (1.0f + (float)(i % cols) / 8.0f);
    o->codes = calloc(1, tq_nbytes(cd, 2, cs) + 1);
    for (int a = 0; a < na; a++) o->aux[a] = calloc(1, tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 8);
    tq_status st = tq_quantize(p, "t", w, rows, cols, o->codes, o->aux, 0, &e);
    free(w);
    if (st) return 0;
    if (poison != 0 && na > 0 && ad[0].dtype == TQ_DTYPE_F32) ((float *)o->aux[0])[0] = poison;
    o->full = malloc(sizeof(float) * (size_t)(rows * cols));
    tq_dequantize(p, rows, cols, o->codes, (const void *const *)o->aux, o->full, &e);
    tq_tensor *t = &o->t;
    t->name = "blk.w";
    t->dtype = cd;
    t->ndim = 2;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->numel = rows * cols;
    t->nbytes = tq_nbytes(cd, 2, cs);
    t->data = o->codes;
    t->quantized = 1;
    t->q = *p;
    t->n_aux = na;
    for (int a = 0; a < na; a++) { t->aux[a] = o->aux[a]; t->aux_desc[a] = ad[a]; }
    return 1;
}

static void drop(qt *o) {
    free(o->codes);
    for (int a = 0; a < TQ_MAX_AUX; a++) free(o->aux[a]);
    free(o->full);
}

static int check_codec(const tq_codec_info *ci, int bits, tq_granularity g) {
    const int64_t rows = 7, cols = g == TQ_GRAN_GROUP ? 96 : 37;
    tq_qparams p = {.codec = ci->id, .bits = bits, .gran = g, .group = g == TQ_GRAN_GROUP ? 32 : 0};
    qt a, b;
    if (!make(&a, &p, rows, cols, 7 + (uint64_t)ci->id * 31 + (uint64_t)bits, 0)) return 0;
    make(&b, &p, rows - 2, cols, 99 + (uint64_t)ci->id, 0);
    tq_error e = {0};
    tq_wmat w, parts[3];
    CHECK(tq_wmat_keepable(&a.t, 1));
    CHECK_OK(tq_wmat_keep(&w, &a.t, "m.safetensors", &e), e);
    CHECK(tq_wmat_quantized(&w) && w.bytes > 0);
    float *out = malloc(sizeof(float) * (size_t)(3 * rows * cols));
    for (int64_t tile = 1; tile <= 3; tile++)
        for (int64_t r0 = 0; r0 < rows; r0 += tile) {
            int64_t r1 = r0 + tile < rows ? r0 + tile : rows;
            memset(out, 0xff, sizeof(float) * (size_t)((r1 - r0) * cols));
            tq_wmat_rows(&w, r0, r1, out);
            CHECK_MSG(!memcmp(out, a.full + r0 * cols, sizeof(float) * (size_t)((r1 - r0) * cols)),
                      "%s/%d/gran %d: rows [%lld, %lld) differ from the float32 decode", ci->name, bits, (int)g,
                      (long long)r0, (long long)r1);
        }
    /* stacked: quantized a, float32 copy of b, quantized a again; rows 3 .. 15 */
    parts[0] = w;
    tq_wmat_set_f32(&parts[1], b.full, rows - 2, cols);
    parts[2] = w;
    int64_t R = 2 * rows + rows - 2;
    float *want = malloc(sizeof(float) * (size_t)(R * cols));
    memcpy(want, a.full, sizeof(float) * (size_t)(rows * cols));
    memcpy(want + rows * cols, b.full, sizeof(float) * (size_t)((rows - 2) * cols));
    memcpy(want + (2 * rows - 2) * cols, a.full, sizeof(float) * (size_t)(rows * cols));
    tq_wmat_stack_rows(parts, 3, 3, R - 1, out);
    CHECK_MSG(!memcmp(out, want + 3 * cols, sizeof(float) * (size_t)((R - 4) * cols)), "%s/%d: stacked rows differ",
              ci->name, bits);
    free(want);
    free(out);
    tq_wmat_free(&w);
    tq_wmat_free(&w);   /* safe twice: emptied */
    drop(&a);
    drop(&b);
    return 1;
}

void tq_tests(void) {
    TQ_CASE("row tiles of every codec, bits and granularity equal the float32 decode");
    int combos = 0;
    /* every set bit of each codec's bits and granularity masks */
    for (int i = 0, n = tq_codec_count(); i < n; i++) {
        const tq_codec_info *ci = tq_codec_at(i);
        if (ci->decode_only) continue;   /* foreign layouts: test_qlayout decodes them */
        for (unsigned bm = ci->bits_mask; bm; bm &= bm - 1)
            for (unsigned gm = ci->gran_mask; gm; gm &= gm - 1)
                combos += check_codec(ci, __builtin_ctz(bm), (tq_granularity)__builtin_ctz(gm));
    }
    CHECK_MSG(combos >= 10, "only %d combinations were tried", combos);

    TQ_CASE("keepable: linear-sym 8-bit only unless any codec; float and simulated tensors never");
    tq_qparams s8 = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL};
    tq_qparams s4 = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 32};
    qt a, b;
    CHECK(make(&a, &s8, 4, 32, 1, 0) && make(&b, &s4, 4, 64, 2, 0));
    CHECK(tq_wmat_keepable(&a.t, 0) && tq_wmat_keepable(&a.t, 1));
    CHECK(!tq_wmat_keepable(&b.t, 0) && tq_wmat_keepable(&b.t, 1));
    a.t.simulated = 1;
    CHECK(!tq_wmat_keepable(&a.t, 1));
    a.t.simulated = 0;
    a.t.quantized = 0;
    CHECK(!tq_wmat_keepable(&a.t, 1) && !tq_wmat_keepable(NULL, 1));
    drop(&a);
    drop(&b);

    TQ_CASE("keep: a non-finite weight is refused, naming the file, tensor and index; bad layouts too");
    tq_error e = {0};
    tq_wmat w;
    CHECK(make(&a, &s8, 4, 32, 3, INFINITY));
    CHECK_ERR(tq_wmat_keep(&w, &a.t, "m.safetensors", &e), e, TQ_E_VALUE, "m.safetensors: tensor \"blk.w\": value 0 is");
    CHECK(!tq_wmat_quantized(&w));
    tq_wmat_free(&w);
    a.t.nbytes -= 1;
    CHECK_ERR(tq_wmat_keep(&w, &a.t, "m.safetensors", &e), e, TQ_E_FORMAT, "code bytes");
    drop(&a);

    TQ_CASE("float32: rows are copied");
    float v[6] = {1, 2, 3, 4, 5, 6}, o[4];
    tq_wmat_set_f32(&w, v, 3, 2);
    CHECK(!tq_wmat_quantized(&w));
    tq_wmat_rows(&w, 1, 3, o);
    CHECK(o[0] == 3 && o[1] == 4 && o[2] == 5 && o[3] == 6);
    tq_wmat_free(&w);
}
