/* The weight-matrix type (src/nn/ops/wmat.c): a quantized matrix of every
 * codec, bits and granularity, decoded by row tiles (alone and stacked with
 * others), gives exactly the bytes of the whole-tensor float32 decode; a
 * float32 matrix copies its rows; non-finite weights are refused at keep.
 * Row views (a fused qkv / gate_up split into its parts) of every codec and
 * of ggml types decode the bytes of the same rows of the decoded matrix, and
 * their kernel products equal the whole matrix's kernel products over the
 * same rows (and the double-precision product of the decoded rows within the
 * activation-quantization bound). */
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
    CHECK_OK(tq_wmat_keep(&w, NULL, &a.t, "m.safetensors", &e), e);
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


/* Views [0, a), [a, b), [b, rows) (and a view of a view) of a matrix kept
 * without a kernel (tq_wmat_keep_codes) decode the rows of the full decode
 * exactly; where the whole matrix (tq_wmat_keep) runs a kernel, so does each
 * view, with the whole matrix's bytes over its rows. */
static int kernel_views;   /* views whose products ran a kernel */

static int check_views(const tq_qparams *p, int64_t rows, int64_t cols, const char *tag) {
    qt a;
    if (!make(&a, p, rows, cols, 1234 + (uint64_t)p->codec * 7 + (uint64_t)p->bits + (uint64_t)p->ggml_type, 0)) return 0;
    tq_error e = {0};
    tq_wmat whole, codes, v[3], vv;
    CHECK_OK(tq_wmat_keep(&whole, NULL, &a.t, "m.safetensors", &e), e);
    CHECK_OK(tq_wmat_keep_codes(&codes, NULL, &a.t, "m.safetensors", &e), e);
    CHECK(!tq_wmat_kernel(&codes) && tq_wmat_quantized(&codes));
    const int64_t cut[4] = {0, 3, rows - 2, rows};
    float *out = malloc(sizeof(float) * (size_t)(rows * cols));
    const int64_t n = 3;
    float *x = malloc(sizeof(float) * (size_t)(n * cols)), *y0 = calloc((size_t)(n * rows), sizeof(float)),
          *y1 = calloc((size_t)(n * rows), sizeof(float));
    uint64_t seed = 5;
    for (int64_t i = 0; i < n * cols; i++) x[i] = tq_t_randn(&seed);
    if (tq_wmat_kernel(&whole)) CHECK_OK(tq_wmat_matmul(&whole, x, cols, n, 0, rows, y0, rows, 0), e);
    for (int i = 0; i < 3; i++) {
        int64_t r0 = cut[i], nr = cut[i + 1] - cut[i];
        CHECK_EQ_INT(tq_wmat_view_rows(&v[i], &codes, r0, nr), TQ_OK);
        CHECK(tq_wmat_quantized(&v[i]) && v[i].rows == nr && v[i].cols == cols);
        for (int64_t t0 = 0; t0 < nr; t0 += 2) {   /* tiles of 2 rows */
            int64_t t1 = t0 + 2 < nr ? t0 + 2 : nr;
            memset(out, 0xff, sizeof(float) * (size_t)((t1 - t0) * cols));
            tq_wmat_rows(&v[i], t0, t1, out);
            CHECK_MSG(!memcmp(out, a.full + (r0 + t0) * cols, sizeof(float) * (size_t)((t1 - t0) * cols)),
                      "%s: view [%lld, +%lld) rows [%lld, %lld) differ from the decoded matrix", tag, (long long)r0,
                      (long long)nr, (long long)t0, (long long)t1);
        }
        CHECK_MSG(tq_wmat_kernel(&v[i]) == tq_wmat_kernel(&whole), "%s: view %d kernel %d, whole matrix %d", tag, i,
                  tq_wmat_kernel(&v[i]), tq_wmat_kernel(&whole));
        if (tq_wmat_kernel(&v[i]) && tq_wmat_kernel(&whole)) {
            kernel_views++;
            CHECK_OK(tq_wmat_matmul(&v[i], x, cols, n, 0, nr, y1 + r0, rows, 0), e);
            for (int64_t j = 0; j < n; j++)   /* the same bytes as the whole matrix's rows */
                CHECK_MSG(!memcmp(y1 + j * rows + r0, y0 + j * rows + r0, sizeof(float) * (size_t)nr),
                          "%s: view %d product differs from the whole matrix's", tag, i);
            /* and the sliced decoded matrix's product, within the activation rounding */
            for (int64_t j = 0; j < n; j++)
                for (int64_t r = r0; r < r0 + nr; r++) {
                    double ref = 0, mag = 0;
                    for (int64_t c = 0; c < cols; c++) {
                        ref += (double)x[j * cols + c] * a.full[r * cols + c];
                        mag += fabs((double)x[j * cols + c] * a.full[r * cols + c]);
                    }
                    CHECK_MSG(fabs(y1[j * rows + r] - ref) <= 0.02 * mag + 1e-5, "%s: row %lld: %g vs %g (sum |.| %g)",
                              tag, (long long)r, (double)y1[j * rows + r], ref, mag);
                }
        }
    }
    /* a view of a view: rows [1, 3) of the middle part */
    CHECK_EQ_INT(tq_wmat_view_rows(&vv, &v[1], 1, 2), TQ_OK);
    tq_wmat_rows(&vv, 0, 2, out);
    CHECK_MSG(!memcmp(out, a.full + (cut[1] + 1) * cols, sizeof(float) * 2 * (size_t)cols), "%s: a view of a view", tag);
    /* views borrow: freeing them leaves the matrix whole */
    tq_wmat_free(&vv);
    for (int i = 0; i < 3; i++) tq_wmat_free(&v[i]);
    tq_wmat_rows(&codes, 0, rows, out);
    CHECK_MSG(!memcmp(out, a.full, sizeof(float) * (size_t)(rows * cols)), "%s: the matrix after its views", tag);
    tq_wmat_free(&codes);
    tq_wmat_free(&whole);
    free(out); free(x); free(y0); free(y1);
    drop(&a);
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

    TQ_CASE("row views of every codec, bits and granularity, and of ggml types, decode the sliced rows");
    int views = 0;
    for (int i = 0, n = tq_codec_count(); i < n; i++) {
        const tq_codec_info *ci = tq_codec_at(i);
        if (ci->decode_only) continue;
        for (unsigned bm = ci->bits_mask; bm; bm &= bm - 1)
            for (unsigned gm = ci->gran_mask; gm; gm &= gm - 1) {
                tq_granularity g = (tq_granularity)__builtin_ctz(gm);
                tq_qparams p = {.codec = ci->id, .bits = __builtin_ctz(bm), .gran = g,
                                .group = g == TQ_GRAN_GROUP ? 32 : 0};
                char tag[96];
                snprintf(tag, sizeof tag, "%s/%d/gran %d", ci->name, p.bits, (int)g);
                views += check_views(&p, 11, g == TQ_GRAN_GROUP ? 96 : 37, tag);
            }
    }
    CHECK_MSG(views >= 10, "only %d combinations were viewed", views);
    static const int GGML_VIEW_TYPES[] = {8, 2, 3, 12, 14};   /* Q8_0, Q4_0, Q4_1, Q4_K, Q6_K */
    int gviews = 0;
    for (size_t i = 0; i < sizeof GGML_VIEW_TYPES / sizeof GGML_VIEW_TYPES[0]; i++) {
        tq_qparams p;
        tq_error ge;
        if (tq_qparams_ggml(GGML_VIEW_TYPES[i], &p, &ge)) continue;
        char tag[64];
        snprintf(tag, sizeof tag, "ggml/%s", tq_ggml_type_name(GGML_VIEW_TYPES[i]));
        gviews += check_views(&p, 11, 512, tag);
    }
    CHECK_MSG(gviews == 5, "%d of 5 ggml types viewed", gviews);
    /* linear-sym 8-bit (3 granularities), ggml Q8_0 and Q4_0, 3 views each, unless TRUEQ_ISA=decode */
    int koff;
    tq_kern_isa(&koff);
    CHECK_MSG(koff || kernel_views >= 15, "only %d views ran a kernel", kernel_views);

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
    CHECK_ERR(tq_wmat_keep(&w, NULL, &a.t, "m.safetensors", &e), e, TQ_E_VALUE, "m.safetensors: tensor \"blk.w\": value 0 is");
    CHECK(!tq_wmat_quantized(&w));
    tq_wmat_free(&w);
    a.t.nbytes -= 1;
    CHECK_ERR(tq_wmat_keep(&w, NULL, &a.t, "m.safetensors", &e), e, TQ_E_FORMAT, "code bytes");
    drop(&a);

    TQ_CASE("float32: rows are copied");
    float v[6] = {1, 2, 3, 4, 5, 6}, o[4];
    tq_wmat_set_f32(&w, v, 3, 2);
    CHECK(!tq_wmat_quantized(&w));
    tq_wmat_rows(&w, 1, 3, o);
    CHECK(o[0] == 3 && o[1] == 4 && o[2] == 5 && o[3] == 6);
    tq_wmat_free(&w);
}
