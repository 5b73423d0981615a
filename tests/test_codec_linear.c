/* test_codec_linear.c — linear codecs: known answers, the seeds' five math
 * checks for every bits x scheme x granularity, packing order, edge cases. */
#include "tq_test.h"
#include "codec/codec.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>

static const int BITS[] = {8, 4, 2};

typedef struct qres { tq_dtype cd; int64_t cs[2]; int na; tq_aux_desc aux[TQ_MAX_AUX]; uint8_t *codes; void *aux_b[TQ_MAX_AUX]; float *deq; } qres;

static tq_status run(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, qres *r, tq_error *e) {
    memset(r, 0, sizeof *r);
    r->na = tq_qparams_layout(p, rows, cols, &r->cd, r->cs, r->aux);
    if (r->na < 0) return TQ_E_ARG;
    r->codes = calloc(1, tq_nbytes(r->cd, 2, r->cs) + 1);
    for (int a = 0; a < r->na; a++) r->aux_b[a] = calloc(1, tq_nbytes(r->aux[a].dtype, r->aux[a].ndim, r->aux[a].shape) + 1);
    r->deq = calloc((size_t)(rows * cols) + 1, sizeof(float));
    tq_status st = tq_quantize(p, "t", w, rows, cols, r->codes, r->aux_b, 0, e);
    if (st) return st;
    return tq_dequantize(p, rows, cols, r->codes, (const void *const *)r->aux_b, r->deq, e);
}
static void release(qres *r) { free(r->codes); for (int a = 0; a < TQ_MAX_AUX; a++) free(r->aux_b[a]); free(r->deq); }

static void kat_symmetric(void) {
    TQ_CASE("sym 8-bit per tensor: scale = max|w|/127, round half to even");
    tq_qparams p = {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    float w[6] = {127.0f, -2.5f, 3.5f, 0.5f, -0.5f, 1.5f};
    qres r; tq_error e;
    CHECK_OK(run(&p, w, 1, 6, &r, &e), e);
    CHECK(r.cd == TQ_DTYPE_I8 && r.cs[0] == 1 && r.cs[1] == 6);
    CHECK(((float *)r.aux_b[0])[0] == 1.0f);
    const int8_t want[6] = {127, -2, 4, 0, 0, 2};
    for (int i = 0; i < 6; i++) CHECK_EQ_INT(((int8_t *)r.codes)[i], want[i]);
    for (int i = 0; i < 6; i++) CHECK(r.deq[i] == (float)want[i]);
    release(&r);

    TQ_CASE("sym 4-bit: offset-binary nibbles, element 2k in the low nibble");
    tq_qparams p4 = {TQ_CODEC_LINEAR_SYM, 4, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    float w4[6] = {7, -7, 2.5f, -3.5f, 0, 1};      /* q = 7 -7 2 -4 0 1 -> u = 15 1 10 4 8 9 */
    CHECK_OK(run(&p4, w4, 1, 6, &r, &e), e);
    CHECK(r.cd == TQ_DTYPE_U8 && r.cs[1] == 3);
    CHECK_EQ_INT(r.codes[0], 0x1F);
    CHECK_EQ_INT(r.codes[1], 0x4A);
    CHECK_EQ_INT(r.codes[2], 0x98);
    release(&r);

    TQ_CASE("sym 2-bit: four codes per byte, LSB first, rows byte-aligned");
    tq_qparams p2 = {TQ_CODEC_LINEAR_SYM, 2, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0};
    float w2[10] = {1, -1, 0.4f, -0.6f, 0.5f,  2, 0, 0, 0, -2};   /* row scales 1 and 2 */
    /* row 0: q = 1 -1 0 -1 0(half-even) -> u = 3 1 2 1 2 -> 0b01100111 = 0x67, then 0x02
       row 1: q = 1 0 0 0 -1 -> u = 3 2 2 2 1 -> 0b10101011 = 0xAB, then 0x01 */
    CHECK_OK(run(&p2, w2, 2, 5, &r, &e), e);
    CHECK(r.cs[0] == 2 && r.cs[1] == 2);
    CHECK_EQ_INT(r.codes[0], 0x67); CHECK_EQ_INT(r.codes[1], 0x02);
    CHECK_EQ_INT(r.codes[2], 0xAB); CHECK_EQ_INT(r.codes[3], 0x01);
    CHECK(((float *)r.aux_b[0])[0] == 1.0f && ((float *)r.aux_b[0])[1] == 2.0f);
    release(&r);
}

static void kat_affine(void) {
    TQ_CASE("affine 4-bit: s = (max-min)/15, zero point, codes in [0, 15]");
    tq_qparams p = {TQ_CODEC_LINEAR_AFFINE, 4, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    float w[4] = {0, 3, 6, 15};
    qres r; tq_error e;
    CHECK_OK(run(&p, w, 1, 4, &r, &e), e);
    CHECK(((float *)r.aux_b[0])[0] == 1.0f);
    CHECK_EQ_INT(((uint8_t *)r.aux_b[1])[0], 0);
    CHECK_EQ_INT(r.codes[0], 0 | 3 << 4);
    CHECK_EQ_INT(r.codes[1], 6 | 15 << 4);
    release(&r);

    TQ_CASE("affine 2-bit with negative minimum: z = round(-min/s)");
    tq_qparams p2 = {TQ_CODEC_LINEAR_AFFINE, 2, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    float w2[3] = {-1, 0, 2};                      /* s = 1, z = 1, u = 0 1 3 */
    CHECK_OK(run(&p2, w2, 1, 3, &r, &e), e);
    CHECK_EQ_INT(((uint8_t *)r.aux_b[1])[0], 1);
    CHECK_EQ_INT(r.codes[0], 0 | 1 << 2 | 3 << 4);
    for (int i = 0; i < 3; i++) CHECK(r.deq[i] == w2[i]);
    release(&r);

    TQ_CASE("affine 8-bit stores U8 codes and a U8 zero point per block");
    tq_qparams p8 = {TQ_CODEC_LINEAR_AFFINE, 8, TQ_GRAN_GROUP, 2, 0, 0, 0, 0};
    float w8[4] = {-1, 1, 0, 255};                 /* group 0: s = 2/255; group 1: s = 1, z = 0 */
    CHECK_OK(run(&p8, w8, 1, 4, &r, &e), e);
    CHECK(r.cd == TQ_DTYPE_U8 && r.aux[0].ndim == 2 && r.aux[0].shape[1] == 2 && r.aux[1].dtype == TQ_DTYPE_U8);
    CHECK(((float *)r.aux_b[0])[1] == 1.0f);
    CHECK_EQ_INT(r.codes[3], 255);
    release(&r);
}

/* The seeds' five checks, for every bits x scheme x granularity. */
static void five_checks(void) {
    uint64_t seed = 42;
    const int64_t rows = 24, cols = 96;
    float *w = malloc(sizeof(float) * rows * cols);
    for (int64_t i = 0; i < rows * cols; i++) w[i] = 0.05f * tq_t_randn(&seed) * ((i % 37) == 0 ? 8.0f : 1.0f);
    for (int64_t c = 0; c < cols; c++) w[5 * cols + c] = 0.0f;   /* an all-zero row */
    for (int sch = 0; sch < 2; sch++)
        for (int bi = 0; bi < 3; bi++)
            for (int g = 0; g < 4; g++) {
                tq_qparams p = {sch ? TQ_CODEC_LINEAR_AFFINE : TQ_CODEC_LINEAR_SYM, BITS[bi],
                                g == 0 ? TQ_GRAN_TENSOR : g == 1 ? TQ_GRAN_CHANNEL : TQ_GRAN_GROUP, g == 2 ? 32 : g == 3 ? 40 : 0,
                                g == 3, 0, 0, 0};
                char name[96], qs[64];
                snprintf(name, sizeof name, "five checks: %s%s", tq_qparams_str(&p, qs, sizeof qs), g == 3 ? " (padded)" : "");
                TQ_CASE(name);
                qres r; tq_error e;
                CHECK_OK(run(&p, w, rows, cols, &r, &e), e);
                /* check 4: stored dtype */
                CHECK(r.cd == (BITS[bi] == 8 && !sch ? TQ_DTYPE_I8 : TQ_DTYPE_U8));
                CHECK_EQ_INT(r.cs[1], BITS[bi] == 8 ? cols : (cols * BITS[bi] + 7) / 8);
                int64_t glen, ng = tq_groups_per_row(&p, cols, &glen);
                const float *sc = r.aux_b[0];
                const uint8_t *zp = sch ? r.aux_b[1] : NULL;
                int qmax = (1 << (BITS[bi] - 1)) - 1, umax = (1 << BITS[bi]) - 1;
                uint8_t *u = malloc((size_t)cols);
                bool range_ok = true, err_ok = true, scale_ok = true, pos_ok = true;
                for (int64_t rr = 0; rr < rows; rr++) {
                    tq_unpack_row(r.codes + rr * r.cs[1], cols, BITS[bi], u);
                    for (int64_t c = 0; c < cols; c++) {
                        int64_t k = p.gran == TQ_GRAN_TENSOR ? 0 : p.gran == TQ_GRAN_CHANNEL ? rr : rr * ng + c / glen;
                        /* check 1: the block's scale from its own values */
                        int64_t c0 = p.gran == TQ_GRAN_GROUP ? (c / glen) * glen : 0;
                        int64_t c1 = p.gran == TQ_GRAN_GROUP ? (c0 + glen < cols ? c0 + glen : cols) : cols;
                        int64_t r0 = p.gran == TQ_GRAN_TENSOR ? 0 : rr, r1 = p.gran == TQ_GRAN_TENSOR ? rows : rr + 1;
                        float amax = 0, lo = 0, hi = 0;
                        for (int64_t i = r0; i < r1; i++)
                            for (int64_t j = c0; j < c1; j++) {
                                float v = w[i * cols + j];
                                if (fabsf(v) > amax) amax = fabsf(v);
                                if (v < lo) lo = v;
                                if (v > hi) hi = v;
                            }
                        float want = sch ? (hi - lo) / (float)umax : amax / (float)qmax;
                        if (sc[k] != want) scale_ok = false;
                        /* check 5: positive scale for non-zero input */
                        if (amax > 0 && !(sc[k] > 0)) pos_ok = false;
                        /* check 2: codes within range */
                        int q = BITS[bi] == 8 && !sch ? (int)(int8_t)u[c] : (int)u[c];
                        if (sch ? (q < 0 || q > umax) : BITS[bi] == 8 ? (q < -qmax || q > qmax)
                                                                      : (q - (1 << (BITS[bi] - 1)) < -qmax || q - (1 << (BITS[bi] - 1)) > qmax))
                            range_ok = false;
                        /* check 3: |w - dequant| <= scale/2 */
                        if (fabsf(w[rr * cols + c] - r.deq[rr * cols + c]) > sc[k] * 0.5f * (1 + 1e-5f) + 1e-12f) err_ok = false;
                        (void)zp;
                    }
                }
                CHECK(scale_ok);
                CHECK(range_ok);
                CHECK(err_ok);
                CHECK(pos_ok);
                if (p.gran == TQ_GRAN_CHANNEL) {     /* the all-zero row: scale 0, codes decode to 0, no NaN */
                    CHECK(sc[5] == 0.0f);
                    for (int64_t c = 0; c < cols; c++) CHECK(r.deq[5 * cols + c] == 0.0f);
                }
                free(u);
                release(&r);
            }
    free(w);
}

static void edges(void) {
    tq_error e;
    qres r;
    TQ_CASE("all-zero tensor: scale 0, codes 0, never NaN");
    float z[8] = {0};
    tq_qparams p = {TQ_CODEC_LINEAR_SYM, 4, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    CHECK_OK(run(&p, z, 2, 4, &r, &e), e);
    CHECK(((float *)r.aux_b[0])[0] == 0.0f);
    for (int i = 0; i < 8; i++) CHECK(r.deq[i] == 0.0f && !isnan(r.deq[i]));
    release(&r);

    TQ_CASE("group size that does not divide the row: error naming tensor and shape");
    tq_qparams g = {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_GROUP, 64, 0, 0, 0, 0};
    CHECK_ERR(tq_qparams_check(&g, "layer.0.w", 4, 100, &e), e, TQ_E_SHAPE, "\"layer.0.w\" of shape [4, 100]");
    CHECK(strstr(e.msg, "group size 64") != NULL);
    g.pad = 1;
    CHECK_OK(tq_qparams_check(&g, "layer.0.w", 4, 100, &e), e);

    TQ_CASE("NaN in a weight: TQ_E_VALUE naming tensor and index, unless allowed");
    float w[6] = {1, 2, 3, NAN, 5, 6};
    tq_qparams s = {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0};
    int8_t codes[6]; float sc[2];
    void *aux[TQ_MAX_AUX] = {sc, 0, 0};
    CHECK_ERR(tq_quantize(&s, "enc.w", w, 2, 3, codes, aux, 0, &e), e, TQ_E_VALUE, "flat index 3 (row 1, column 0)");
    CHECK(strstr(e.msg, "\"enc.w\"") != NULL);
    CHECK_OK(tq_quantize(&s, "enc.w", w, 2, 3, codes, aux, 1, &e), e);
    CHECK_EQ_INT(codes[3], 0);

    TQ_CASE("unsupported bits and unknown codec are argument errors");
    tq_qparams b3 = {TQ_CODEC_LINEAR_SYM, 3, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    CHECK_ERR(tq_qparams_check(&b3, "x", 1, 4, &e), e, TQ_E_ARG, "does not support 3 bits");
    CHECK(tq_codec_by_name("sym")->id == TQ_CODEC_LINEAR_SYM);
    CHECK(tq_codec_by_name("affine")->id == TQ_CODEC_LINEAR_AFFINE);
    CHECK(tq_codec_by_name("no-such-codec") == NULL);

    TQ_CASE("pack/unpack round trip at 1, 2, 4, 8 bits for odd lengths");
    uint64_t seed = 7;
    for (int bits = 1; bits <= 8; bits *= 2) {
        uint8_t u[37], back[37], packed[40];
        for (int i = 0; i < 37; i++) u[i] = (uint8_t)(tq_t_rand(&seed) & ((1u << bits) - 1));
        tq_pack_row(u, 37, bits, packed);
        tq_unpack_row(packed, 37, bits, back);
        CHECK(memcmp(u, back, 37) == 0);
        if (bits < 8) CHECK((packed[(37 * bits - 1) / 8] >> ((37 * bits) % 8 ? (37 * bits) % 8 : 8)) == 0);
    }
}

static void halves(void) {
    TQ_CASE("float16 / bfloat16 conversions (IEEE, round to nearest even)");
    CHECK(tq_f16_to_f32(0x3C00) == 1.0f);
    CHECK(tq_f16_to_f32(0x7BFF) == 65504.0f);
    CHECK(tq_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    CHECK(tq_f16_to_f32(0xC000) == -2.0f);
    CHECK(isinf(tq_f16_to_f32(0x7C00)) && isnan(tq_f16_to_f32(0x7E00)));
    CHECK_EQ_INT(tq_f32_to_f16(1.0f), 0x3C00);
    CHECK_EQ_INT(tq_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3C00);        /* tie -> even */
    CHECK_EQ_INT(tq_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3C02);    /* tie -> even (up) */
    CHECK_EQ_INT(tq_f32_to_f16(65520.0f), 0x7C00);                         /* rounds to inf */
    CHECK_EQ_INT(tq_f32_to_f16(ldexpf(1.0f, -25)), 0x0000);                /* half of min subnormal -> 0 */
    CHECK_EQ_INT(tq_f32_to_f16(ldexpf(3.0f, -25)), 0x0002);
    for (uint32_t h = 0; h < 0x7C00; h++) CHECK(tq_f32_to_f16(tq_f16_to_f32((uint16_t)h)) == h);
    CHECK(tq_bf16_to_f32(0x3F80) == 1.0f);
    CHECK_EQ_INT(tq_f32_to_bf16(1.0f), 0x3F80);
    CHECK_EQ_INT(tq_f32_to_bf16(1.00390625f), 0x3F80);                     /* 1 + 2^-8: tie -> even */
    CHECK_EQ_INT(tq_f32_to_bf16(1.01171875f), 0x3F82);                     /* 1 + 3*2^-8: tie -> even (up) */
}

static void threads(void) {
    TQ_CASE("row-parallel quantization: identical bytes for 1, 2, 3 and 7 threads");
    const int64_t rows = 301, cols = 1024;
    float *w = malloc(sizeof(float) * rows * cols);
    uint64_t seed = 3;
    for (int64_t i = 0; i < rows * cols; i++) w[i] = tq_t_randn(&seed);
    static const tq_qparams P[] = {{TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0}, {TQ_CODEC_LINEAR_SYM, 2, TQ_GRAN_GROUP, 64, 0, 0, 0, 0},
                                   {TQ_CODEC_LINEAR_AFFINE, 4, TQ_GRAN_GROUP, 128, 0, 0, 0, 0}, {TQ_CODEC_LINEAR_SYM, 4, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0}};
    for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
        tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
        int na = tq_qparams_layout(&P[k], rows, cols, &cd, cs, ad);
        uint64_t cb = tq_nbytes(cd, 2, cs), ab[TQ_MAX_AUX] = {0};
        uint8_t *ref = malloc(cb), *got = malloc(cb);
        void *raux[TQ_MAX_AUX] = {0}, *gaux[TQ_MAX_AUX] = {0};
        for (int a = 0; a < na; a++) { ab[a] = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape); raux[a] = malloc(ab[a] + 1); gaux[a] = malloc(ab[a] + 1); }
        tq_error e;
        CHECK_OK(tq_quantize_threads(&P[k], "t", w, rows, cols, ref, raux, 0, 1, &e), e);
        for (int th = 2; th <= 7; th += (th == 3 ? 4 : 1)) {
            CHECK_OK(tq_quantize_threads(&P[k], "t", w, rows, cols, got, gaux, 0, th, &e), e);
            CHECK(memcmp(ref, got, cb) == 0);
            for (int a = 0; a < na; a++) CHECK(memcmp(raux[a], gaux[a], ab[a]) == 0);
        }
        free(ref); free(got);
        for (int a = 0; a < na; a++) { free(raux[a]); free(gaux[a]); }
    }
    TQ_CASE("row-parallel quantization still reports a NaN with its index");
    w[250 * cols + 7] = NAN;
    tq_qparams p = P[0];
    int8_t *codes = malloc((size_t)(rows * cols));
    float *sc = malloc(sizeof(float) * (size_t)rows);
    void *aux[TQ_MAX_AUX] = {sc, 0, 0};
    tq_error e;
    CHECK_ERR(tq_quantize_threads(&p, "big.weight", w, rows, cols, codes, aux, 0, 4, &e), e, TQ_E_VALUE, "row 250, column 7");
    free(codes); free(sc); free(w);
}

/* tq_all_finite (vectorized, run-time clones) against a scalar isfinite loop:
 * every length 0..80 and a few odd long ones, one special value at every
 * position (the vector body, the tail, the first and the last lane). */
static void finite_check(void) {
    TQ_CASE("tq_all_finite: same answer as a scalar isfinite loop, any length and position");
    const float special[] = {NAN, -NAN, INFINITY, -INFINITY};
    const float fine[] = {FLT_MAX, -FLT_MAX, 0x1p-149f, -0.0f, 1.0f};
    enum { N = 1043 };
    float *x = malloc(sizeof(float) * N);
    uint64_t seed = 11;
    for (int i = 0; i < N; i++) x[i] = tq_t_randn(&seed) * 1e30f;
    int bad = 0;
    for (int n = 0; n <= N; n += n < 80 ? 1 : 321) {
        bad |= tq_all_finite(x, n) != 1;
        for (int pos = 0; pos < n; pos++) {
            float keep = x[pos];
            for (size_t k = 0; k < sizeof special / sizeof special[0]; k++) {
                x[pos] = special[k];
                bad |= tq_all_finite(x, n) != 0;
            }
            for (size_t k = 0; k < sizeof fine / sizeof fine[0]; k++) {
                x[pos] = fine[k];
                int ref = 1;
                for (int i = 0; i < n; i++) ref &= isfinite(x[i]) != 0;
                bad |= tq_all_finite(x, n) != ref;
            }
            x[pos] = keep;
        }
    }
    CHECK(!bad);
    CHECK(tq_all_finite(NULL, 0) == 1);
    free(x);
}

void tq_tests(void) {
    finite_check();
    threads();
    kat_symmetric();
    kat_affine();
    five_checks();
    edges();
    halves();
}
