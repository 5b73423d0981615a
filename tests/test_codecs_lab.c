/* test_codecs_lab.c — QINS log (both layouts), QINS rational, NF4: known
 * answers computed by hand (and with Python's math module, noted), round-trip
 * error bounds, zeros / denormals / huge values / constant tensors, corrupt
 * side tensors, file round trips through convert, and the self-test. */
#include "tq_test.h"
#include "codec/codec.h"
#include "io/container.h"
#include <sys/stat.h>
#include "trueq_verify.h"
#include <float.h>
#include <stdlib.h>

typedef struct qres { tq_dtype cd; int64_t cs[2]; int na; tq_aux_desc aux[TQ_MAX_AUX]; uint8_t *codes; void *aux_b[TQ_MAX_AUX]; float *deq; } qres;

static tq_status run(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, qres *r, tq_error *e) {
    memset(r, 0, sizeof *r);
    r->na = tq_qparams_layout(p, rows, cols, &r->cd, r->cs, r->aux);
    if (r->na < 0) return TQ_E_ARG;
    r->codes = calloc(1, tq_nbytes(r->cd, 2, r->cs) + 1);
    for (int a = 0; a < r->na; a++) r->aux_b[a] = calloc(1, tq_nbytes(r->aux[a].dtype, r->aux[a].ndim, r->aux[a].shape) + 8);
    r->deq = calloc((size_t)(rows * cols) + 1, sizeof(float));
    tq_status st = tq_quantize(p, "t", w, rows, cols, r->codes, r->aux_b, 0, e);
    if (st) return st;
    return tq_dequantize(p, rows, cols, r->codes, (const void *const *)r->aux_b, r->deq, e);
}
static void release(qres *r) { free(r->codes); for (int a = 0; a < TQ_MAX_AUX; a++) free(r->aux_b[a]); free(r->deq); }

static bool all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) if (!isfinite(x[i])) return false;
    return true;
}

static void kat_log(void) {
    /* w = {1, 0.3, -0.01, 0}: lmin = ln 0.01 = -4.6051702, lmax = 0.
     * 2B:  t(0.3) = (ln 0.3 + 4.60517)/4.60517 = 0.738561 -> 255 - 254 t = 67.41 -> 67;
     *      decodes to exp(-4.60517 + 188 * 4.60517/254) = 0.302214 (checked with Python math).
     * 1B:  127 - 126 t = 33.94 -> 34; exp(-4.60517 + 93 * 4.60517/126) = 0.299358. */
    const float w[4] = {1.0f, 0.3f, -0.01f, 0.0f};
    qres r; tq_error e;
    TQ_CASE("qins-log-2b known answer: codes, signs, {lmin, lmax}, decoded values");
    tq_qparams p2 = {TQ_CODEC_QINS_LOG_2B, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    CHECK_OK(run(&p2, w, 1, 4, &r, &e), e);
    CHECK(r.na == 2 && r.cd == TQ_DTYPE_U8 && r.aux[0].dtype == TQ_DTYPE_I8 && r.aux[1].dtype == TQ_DTYPE_F32);
    CHECK(strcmp(r.aux[0].suffix, "__sign__") == 0 && strcmp(r.aux[1].suffix, "__scale__") == 0);
    const uint8_t want2[4] = {1, 67, 255, 0};
    const int8_t wsg[4] = {1, 1, -1, 0};
    for (int i = 0; i < 4; i++) { CHECK_EQ_INT(r.codes[i], want2[i]); CHECK_EQ_INT(((int8_t *)r.aux_b[0])[i], wsg[i]); }
    CHECK(((float *)r.aux_b[1])[0] == -4.6051702f && ((float *)r.aux_b[1])[1] == 0.0f);
    CHECK_NEAR(r.deq[0], 1.0, 1e-6);
    CHECK_NEAR(r.deq[1], 0.302214265, 1e-6);
    CHECK_NEAR(r.deq[2], -0.01, 1e-8);
    CHECK(r.deq[3] == 0.0f);
    release(&r);

    TQ_CASE("qins-log (packed) known answer: byte = sign<<7 | 7-bit code, 127 levels");
    tq_qparams p1 = {TQ_CODEC_QINS_LOG, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    CHECK_OK(run(&p1, w, 1, 4, &r, &e), e);
    CHECK(r.na == 1 && r.cd == TQ_DTYPE_U8 && r.cs[1] == 4);
    const uint8_t want1[4] = {0x01, 34, 0x80 | 127, 0x00};
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(r.codes[i], want1[i]);
    CHECK_NEAR(r.deq[1], 0.299357712, 1e-6);
    CHECK_NEAR(r.deq[2], -0.01, 1e-8);
    CHECK(r.deq[3] == 0.0f && !signbit(r.deq[3]));
    release(&r);

    TQ_CASE("qins-log channel: one {lmin, lmax} pair per row; zero row and constant row");
    float wc[8] = {0, 0, 0, 0, -0.5f, 0.5f, 0.5f, -0.5f};
    tq_qparams pc = {TQ_CODEC_QINS_LOG, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0};
    CHECK_OK(run(&pc, wc, 2, 4, &r, &e), e);
    CHECK(r.aux[0].ndim == 2 && r.aux[0].shape[0] == 2 && r.aux[0].shape[1] == 2);
    const float *rg = r.aux_b[0];
    CHECK(rg[0] == 0.0f && rg[1] == 0.0f);                     /* no non-zero weight */
    CHECK(rg[2] == logf(0.5f) && rg[3] == logf(0.5f));          /* constant magnitude */
    for (int i = 0; i < 4; i++) CHECK(r.codes[i] == 0 && r.deq[i] == 0.0f);
    for (int i = 4; i < 8; i++) CHECK_NEAR(r.deq[i], wc[i], 1e-7);
    release(&r);
}

/* Decoded value of rational code u, by the documented rule (midpoint in w of
 * the code's interval, clipped to [0, wmax]), computed independently here. */
static double rat_expect(int u, double al, double wmax) {
    if (u == 0 || u == 255) return 0.0;
    double e1 = fabs((u - 0.5) / 127.5 - 1.0), e2 = fabs((u + 0.5) / 127.5 - 1.0);
    double emin = fmin(e1, e2), emax = fmin(fmax(e1, e2), 1.0);
    if (u == 127 || u == 128) emin = 0.0;
    double lo = (1.0 / emax - 1.0) / al, hi = emin > 0 ? (1.0 / emin - 1.0) / al : INFINITY;
    if (hi > wmax) hi = wmax;
    if (lo > hi) lo = hi;
    double m = (lo + hi) / 2;
    return u < 128 ? -m : m;
}

static void kat_rational(void) {
    qres r; tq_error e;
    TQ_CASE("qins-rational alpha=1 known answer (hand-computed codes)");
    /* e = 1/(1+|w|):  1 -> 0.5 -> 1.5*127.5 = 191.25 -> 191;  -1 -> 255-191 = 64
     * 3 -> 0.25 -> 159.375 -> 159;  -0.4 -> 0.714286 -> 218.57 -> 219 -> 36
     * (the seeds' formula: (1 - 0.714286)*127.5 = 36.43 -> 36, the same);
     * 0 -> 255 (the limit w -> 0+);  40 -> 1/41 -> 130.61 -> 131 */
    const float w[6] = {1, -1, 3, -0.4f, 0, 40};
    tq_qparams p = {TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_TENSOR, 0, 0, 1.0f, 0, 0};
    CHECK_OK(run(&p, w, 1, 6, &r, &e), e);
    const uint8_t want[6] = {191, 64, 159, 36, 255, 131};
    for (int i = 0; i < 6; i++) CHECK_EQ_INT(r.codes[i], want[i]);
    CHECK(strcmp(r.aux[0].suffix, "__alpha__") == 0 && r.aux[0].shape[0] == 2);
    CHECK(((float *)r.aux_b[0])[0] == 1.0f && ((float *)r.aux_b[0])[1] == 40.0f);
    /* bin of 191: e in [0.494118, 0.501961] -> w in [0.992188, 1.023810], mid 1.007999 */
    CHECK_NEAR(r.deq[0], 1.0079987, 2e-6);
    CHECK_NEAR(r.deq[1], -1.0079987, 2e-6);
    for (int i = 0; i < 6; i++) CHECK_NEAR(r.deq[i], rat_expect(want[i], 1.0, 40.0), 1e-6 * fabs(w[i]) + 1e-7);
    CHECK(r.deq[4] == 0.0f);
    release(&r);

    TQ_CASE("qins-rational singular points: zeros exact, huge weights finite and signed, never NaN/Inf");
    const float h[6] = {0.0f, -0.0f, FLT_MAX, -FLT_MAX, 1e-45f, -3e38f};
    CHECK_OK(run(&p, h, 1, 6, &r, &e), e);
    CHECK(r.deq[0] == 0.0f && r.deq[1] == 0.0f);
    CHECK(r.codes[2] == 128 && r.codes[3] == 127 && r.codes[5] == 127);   /* the sign never flips */
    CHECK(all_finite(r.deq, 6));
    CHECK(r.deq[2] > 1e38f && r.deq[3] < -1e38f && r.deq[5] < -1e38f);
    /* top interval [126.5, FLT_MAX] -> midpoint ~ FLT_MAX/2 */
    CHECK_NEAR(r.deq[2] / FLT_MAX, 0.5, 1e-6);
    release(&r);

    TQ_CASE("qins-rational calibrated alpha: chosen from the grid, decodes from the side tensor alone, beats alpha=1");
    uint64_t s = 5;
    float *g = malloc(sizeof(float) * 64 * 96);
    for (int i = 0; i < 64 * 96; i++) g[i] = 0.02f * tq_t_randn(&s);
    tq_qparams pc = {TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_TENSOR, 0, 0, 0.0f, 0, 0};
    CHECK_OK(run(&pc, g, 64, 96, &r, &e), e);
    float al = ((float *)r.aux_b[0])[0], wmax = ((float *)r.aux_b[0])[1];
    double beta = log2((double)al * wmax) * 2;               /* alpha = 2^(k/2) / wmax */
    CHECK(fabs(beta - nearbyint(beta)) < 1e-4 && beta >= -4 && beta <= 24);
    double sse_cal = 0, sse_one = 0;
    for (int i = 0; i < 64 * 96; i++) sse_cal += (g[i] - r.deq[i]) * (double)(g[i] - r.deq[i]);
    /* a grid neighbour is no better on the whole tensor */
    for (int d = -1; d <= 1; d += 2) {
        qres r2;
        tq_qparams pn = pc;
        pn.alpha = (float)(exp2((nearbyint(beta) + d) / 2.0) / wmax);
        CHECK_OK(run(&pn, g, 64, 96, &r2, &e), e);
        double sn = 0;
        for (int i = 0; i < 64 * 96; i++) sn += (g[i] - r2.deq[i]) * (double)(g[i] - r2.deq[i]);
        CHECK_MSG(sse_cal <= sn * (1 + 1e-9), "beta %g: sse %g, neighbour %d: %g", beta, sse_cal, d, sn);
        release(&r2);
    }
    release(&r);
    CHECK_OK(run(&p, g, 64, 96, &r, &e), e);
    for (int i = 0; i < 64 * 96; i++) sse_one += (g[i] - r.deq[i]) * (double)(g[i] - r.deq[i]);
    CHECK_MSG(sse_cal < sse_one / 10, "calibrated %g vs alpha=1 %g", sse_cal, sse_one);
    release(&r);
    free(g);

    TQ_CASE("qins-rational: a negative alpha is rejected; corrupt side tensors are format errors");
    tq_qparams bad = {TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_TENSOR, 0, 0, -1.0f, 0, 0};
    CHECK_ERR(tq_qparams_check(&bad, "x", 1, 4, &e), e, TQ_E_ARG, "\"x\"");
    uint8_t codes[4] = {0, 127, 128, 255};
    float out[4];
    float side[2] = {NAN, 1.0f};
    const void *aux[TQ_MAX_AUX] = {side, NULL, NULL};
    CHECK_ERR(tq_dequantize(&p, 1, 4, codes, aux, out, &e), e, TQ_E_FORMAT, "alpha");
    side[0] = 0.0f;
    CHECK_ERR(tq_dequantize(&p, 1, 4, codes, aux, out, &e), e, TQ_E_FORMAT, "alpha");
    side[0] = 1e-30f; side[1] = FLT_MAX;
    CHECK_OK(tq_dequantize(&p, 1, 4, codes, aux, out, &e), e);
    CHECK(all_finite(out, 4));
}

static void kat_nf4(void) {
    qres r; tq_error e;
    TQ_CASE("nf4 known answer: absmax, nearest code-book entry, LSB-first nibbles");
    /* absmax 2; x = w/2 = {1, -1, 0, 0.15, -0.05, 0.5, 0.025, -0.3}
     * 1 -> 15; -1 -> 0; 0 -> 7; 0.15 > mid(0.0796, 0.1609) = 0.1203 -> 9;
     * -0.05 < mid(-0.0911, 0) = -0.0455 -> 6; 0.5 < mid(0.4407, 0.5626) = 0.5017 -> 12;
     * 0.025 < 0.0398 -> 7; -0.3: between mid(3,4) = -0.3397 and mid(4,5) = -0.2346 -> 4 */
    const float w[8] = {2, -2, 0, 0.3f, -0.1f, 1.0f, 0.05f, -0.6f};
    tq_qparams p = {TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 8, 0, 0, 0, 0};
    CHECK_OK(run(&p, w, 1, 8, &r, &e), e);
    CHECK(r.cd == TQ_DTYPE_U8 && r.cs[1] == 4 && r.na == 1 && r.aux[0].dtype == TQ_DTYPE_F32);
    CHECK_EQ_INT(r.codes[0], 0x0F); CHECK_EQ_INT(r.codes[1], 0x97);
    CHECK_EQ_INT(r.codes[2], 0xC6); CHECK_EQ_INT(r.codes[3], 0x47);
    CHECK(((float *)r.aux_b[0])[0] == 2.0f);
    CHECK(r.deq[3] == 0.16093020141124725f * 2.0f);
    CHECK(r.deq[7] == -0.28444138169288635f * 2.0f);
    release(&r);

    TQ_CASE("nf4: a value exactly on a midpoint takes the lower code (bitsandbytes' strict >)");
    float mid = (float)((0.0 + 0.07958029955625534) / 2.0);
    float t[4] = {1.0f, mid, nextafterf(mid, 1.0f), -1.0f};
    tq_qparams pt = {TQ_CODEC_NF4, 4, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    CHECK_OK(run(&pt, t, 1, 4, &r, &e), e);
    CHECK_EQ_INT(r.codes[0], 15 | 7 << 4);
    CHECK_EQ_INT(r.codes[1], 8 | 0 << 4);
    release(&r);

    TQ_CASE("nf4 group 64: one absmax per 64-block of a row; zero block; odd row length");
    float *g = calloc(3 * 129, sizeof(float));
    uint64_t s = 11;
    for (int i = 0; i < 3 * 129; i++) g[i] = (i >= 129 && i < 129 + 64) ? 0.0f : tq_t_randn(&s);
    tq_qparams pg = {TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 64, 1, 0, 0, 0};
    CHECK_OK(run(&pg, g, 3, 129, &r, &e), e);
    CHECK(r.cs[1] == 65 && r.aux[0].shape[0] == 3 && r.aux[0].shape[1] == 3);
    const float *sc = r.aux_b[0];
    CHECK(sc[3] == 0.0f);
    for (int b = 0; b < 9; b++) {
        int row = b / 3, c0 = (b % 3) * 64, c1 = c0 + 64 < 129 ? c0 + 64 : 129;
        float am = 0;
        for (int c = c0; c < c1; c++) am = fmaxf(am, fabsf(g[row * 129 + c]));
        CHECK(sc[b] == am);
        for (int c = c0; c < c1; c++) {
            /* error at most half the widest code-book gap (0.3038/2) times absmax */
            CHECK(fabsf(g[row * 129 + c] - r.deq[row * 129 + c]) <= 0.152f * am + 1e-7f);
        }
    }
    for (int c = 0; c < 64; c++) CHECK(r.deq[129 + c] == 0.0f);
    CHECK_EQ_INT(r.codes[64] >> 4, 0);           /* the unused high nibble of an odd row */
    release(&r);
    free(g);
}

/* Every codec: bounded error on random weights; edge values. */
static void bounds_and_edges(void) {
    const tq_qparams P[] = {
        {TQ_CODEC_QINS_LOG, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0}, {TQ_CODEC_QINS_LOG, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0},
        {TQ_CODEC_QINS_LOG_2B, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0}, {TQ_CODEC_QINS_LOG_2B, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0},
        {TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_TENSOR, 0, 0, 1, 0, 0}, {TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0},
        {TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 64, 0, 0, 0, 0}, {TQ_CODEC_NF4, 4, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0},
    };
    const int R = 16, C = 128;
    float *w = malloc(sizeof(float) * R * C);
    uint64_t s = 3;
    for (int i = 0; i < R * C; i++) w[i] = 0.03f * tq_t_randn(&s) * (i % 101 == 0 ? 12.0f : 1.0f);
    for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
        char nm[96], qs[64];
        snprintf(nm, sizeof nm, "round-trip bound: %s alpha=%g", tq_qparams_str(&P[k], qs, sizeof qs), (double)P[k].alpha);
        TQ_CASE(nm);
        qres r; tq_error e;
        CHECK_OK(run(&P[k], w, R, C, &r, &e), e);
        int bad = 0;
        for (int i = 0; i < R * C; i++) {
            int row = i / C;
            double x = w[i], y = r.deq[i], bound = 0;
            switch (P[k].codec) {
            case TQ_CODEC_QINS_LOG: case TQ_CODEC_QINS_LOG_2B: {
                const float *rg = (const float *)r.aux_b[P[k].codec == TQ_CODEC_QINS_LOG ? 0 : 1] + (P[k].gran ? 2 * row : 0);
                int L = P[k].codec == TQ_CODEC_QINS_LOG ? 127 : 255;
                bound = fabs(x) * (exp((rg[1] - rg[0]) / (L - 1) / 2.0) - 1) + fabs(x) * 3e-7;
                break;
            }
            case TQ_CODEC_QINS_RATIONAL: {
                const float *sd = (const float *)r.aux_b[0] + (P[k].gran ? 2 * row : 0);
                /* |w'| and |w| lie in the same interval; its width bounds the error */
                double al = sd[0], e0 = 1 / (1 + al * fabs(x));
                double de = 0.5 / 127.5;   /* half a code in e */
                double lo = e0 + de >= 1 ? 0 : (1 / fmin(1, e0 + de) - 1) / al, hi = e0 - de <= 0 ? sd[1] : fmin(sd[1], (1 / (e0 - de) - 1) / al);
                bound = (hi - lo) + fabs(x) * 3e-7;
                break;
            }
            default: {
                int64_t b = P[k].gran == TQ_GRAN_GROUP ? row * 2 + (i % C) / 64 : row;
                bound = 0.152 * ((float *)r.aux_b[0])[b] + 1e-7;
            }
            }
            if (fabs(x - y) > bound) bad++;
        }
        CHECK_MSG(bad == 0, "%d weights beyond the bound", bad);
        CHECK(all_finite(r.deq, R * C));
        release(&r);
    }
    free(w);

    TQ_CASE("edge values for every new codec: zeros exact, denormals, +-3e38, constants; finite output");
    float ed[2 * 8] = {0, 1e-45f, -1e-40f, 3e38f, -3e38f, 1.0f, -0.0f, 2e-38f, 7, 7, 7, 7, 7, 7, 7, 7};
    for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
        tq_qparams p = P[k];
        if (p.gran == TQ_GRAN_GROUP) p.group = 8;
        qres r; tq_error e;
        CHECK_OK(run(&p, ed, 2, 8, &r, &e), e);
        CHECK(all_finite(r.deq, 16));
        CHECK(r.deq[0] == 0.0f && r.deq[6] == 0.0f);
        CHECK(r.deq[3] > 1e38f && r.deq[4] < -1e38f);
        if (p.gran == TQ_GRAN_CHANNEL || p.gran == TQ_GRAN_GROUP)
            for (int i = 8; i < 16; i++) CHECK_NEAR(r.deq[i], 7.0, 7e-6);   /* a constant row is exact */
        if (p.codec == TQ_CODEC_QINS_LOG || p.codec == TQ_CODEC_QINS_LOG_2B) {
            /* the log codecs keep denormal magnitudes' order of magnitude... within their coarse step */
            CHECK(r.deq[1] > 0 && r.deq[2] < 0);
        }
        release(&r);
    }

    TQ_CASE("blocks of subnormal weights: nf4 divides when 1/absmax overflows; rational stays finite");
    const float dn[4] = {1e-40f, -1e-40f, 0.0f, 5e-41f};
    {
        tq_qparams pn = {TQ_CODEC_NF4, 4, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
        qres r; tq_error e2;
        CHECK_OK(run(&pn, dn, 1, 4, &r, &e2), e2);
        CHECK_EQ_INT(r.codes[0], 15 | 0 << 4);      /* 1 -> 15, -1 -> 0 */
        CHECK_EQ_INT(r.codes[1], 7 | 12 << 4);      /* 0 -> 7, 0.5 -> 12 (0.5 < 0.5017) */
        CHECK(r.deq[2] == 0.0f && r.deq[0] == 1e-40f);
        release(&r);
        tq_qparams pr = {TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
        CHECK_OK(run(&pr, dn, 1, 4, &r, &e2), e2);
        CHECK(all_finite(r.deq, 4) && isfinite(((float *)r.aux_b[0])[0]) && ((float *)r.aux_b[0])[0] > 0);
        for (int i = 0; i < 4; i++) CHECK(fabsf(r.deq[i] - dn[i]) <= 1e-40f);
        release(&r);
    }

    TQ_CASE("qins-log: corrupt {lmin, lmax} is a format error, huge lmax saturates at FLT_MAX");
    tq_qparams p = {TQ_CODEC_QINS_LOG, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
    uint8_t codes[3] = {1, 0x81, 127};
    float rg[2] = {1.0f, -1.0f}, out[3];
    const void *aux[TQ_MAX_AUX] = {rg, NULL, NULL};
    tq_error e;
    CHECK_ERR(tq_dequantize(&p, 1, 3, codes, aux, out, &e), e, TQ_E_FORMAT, "log range");
    rg[0] = NAN;
    CHECK_ERR(tq_dequantize(&p, 1, 3, codes, aux, out, &e), e, TQ_E_FORMAT, "log range");
    rg[0] = -10; rg[1] = 1000;
    CHECK_OK(tq_dequantize(&p, 1, 3, codes, aux, out, &e), e);
    CHECK(out[0] == FLT_MAX && out[1] == -FLT_MAX && all_finite(out, 3));
}

/* Through files: convert with each new codec, reopen, dequantize. */
static void files(void) {
    const char *names[] = {"qins-log", "qins-log-2b", "qins-rational", "nf4"};
    const int R = 32, C = 128;
    float *w = malloc(sizeof(float) * R * C);
    uint64_t s = 17;
    for (int i = 0; i < R * C; i++) w[i] = 0.05f * tq_t_randn(&s);
    char in[1024];
    snprintf(in, sizeof in, "%s", tq_t_path("lab_in"));
    mkdir(in, 0755);
    char inf[1100];
    snprintf(inf, sizeof inf, "%s/model.safetensors", in);
    tq_wentry we = {0};
    we.name = "layer.0.attn.q.weight"; we.dtype = TQ_DTYPE_F32; we.ndim = 2; we.shape[0] = R; we.shape[1] = C;
    tq_error e;
    tq_writer *wr = tq_writer_create(TQ_FORMAT_SAFETENSORS, inf, &we, 1, NULL, NULL, 0, &e);
    CHECK(wr != NULL);
    if (!wr) { free(w); return; }
    CHECK_OK(tq_writer_put(wr, 0, w, (uint64_t)R * C * 4, &e), e);
    CHECK_OK(tq_writer_finish(wr, &e), e);
    tq_writer_free(wr);
    for (int k = 0; k < 4; k++) {
        char nm[96];
        snprintf(nm, sizeof nm, "file round trip with convert: %s", names[k]);
        TQ_CASE(nm);
        tq_convert_options o;
        tq_convert_options_init(&o);
        o.q.codec = tq_codec_by_name(names[k])->id;
        o.q.bits = o.q.codec == TQ_CODEC_NF4 ? 4 : 8;
        o.q.gran = o.q.codec == TQ_CODEC_NF4 ? TQ_GRAN_GROUP : TQ_GRAN_CHANNEL;
        o.q.group = o.q.codec == TQ_CODEC_NF4 ? 64 : 0;
        o.q.alpha = 0;
        tq_model *m = tq_model_open(inf, &e);
        CHECK(m != NULL);
        if (!m) continue;
        tq_plan *pl = tq_plan_create(m, &o, &e);
        CHECK(pl != NULL);
        char out[1100];
        snprintf(out, sizeof out, "%s/lab_out_%d", tq_t_tmpdir(), k);
        if (pl) CHECK_OK(tq_plan_execute(pl, out, NULL, NULL, &e), e);
        tq_plan_free(pl);
        char of[1200];
        snprintf(of, sizeof of, "%s/model.safetensors", out);
        tq_model *q = tq_model_open(of, &e);
        CHECK_MSG(q != NULL, "%s", e.msg);
        if (q) {
            const tq_tensor *t = tq_model_find(q, "layer.0.attn.q.weight");
            CHECK(t && t->quantized && t->q.codec == o.q.codec);
            /* direct quantize of the same weights gives the same decoded values */
            qres r;
            CHECK_OK(run(&o.q, w, R, C, &r, &e), e);
            float *d = malloc(sizeof(float) * R * C);
            CHECK_OK(tq_model_tensor_f32(q, t, d, &e), e);
            CHECK(memcmp(d, r.deq, sizeof(float) * R * C) == 0);
            /* memory: codes + side tensors as documented */
            uint64_t want = o.q.codec == TQ_CODEC_NF4 ? (uint64_t)R * C / 2 + 4u * R * 2
                          : o.q.codec == TQ_CODEC_QINS_LOG_2B ? 2u * R * C + 8u * R : (uint64_t)R * C + 8u * R;
            CHECK_EQ_INT(t->nbytes + t->aux_bytes, want);
            free(d);
            release(&r);
            tq_model_close(q);
        }
        tq_model_close(m);
    }
    free(w);
}

/* Channel (and group) granularity is row-local: threads split rows, same bytes. */
static void threads(void) {
    TQ_CASE("deterministic: 1 thread and 4 threads give identical codes and side tensors");
    const int64_t R = 512, C = 1024;
    float *w = malloc(sizeof(float) * (size_t)(R * C));
    uint64_t s = 23;
    for (int64_t i = 0; i < R * C; i++) w[i] = 0.02f * tq_t_randn(&s) * (i % 211 == 0 ? 9.0f : 1.0f);
    const tq_qparams P[] = {{TQ_CODEC_QINS_LOG, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0}, {TQ_CODEC_QINS_LOG_2B, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0},
                            {TQ_CODEC_QINS_RATIONAL, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0}, {TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 64, 0, 0, 0, 0}};
    for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
        tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
        int na = tq_qparams_layout(&P[k], R, C, &cd, cs, ad);
        uint64_t cb = tq_nbytes(cd, 2, cs), ab[TQ_MAX_AUX] = {0};
        uint8_t *c1 = calloc(1, cb), *c4 = calloc(1, cb);
        void *a1[TQ_MAX_AUX] = {0}, *a4[TQ_MAX_AUX] = {0};
        for (int a = 0; a < na; a++) { ab[a] = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape); a1[a] = calloc(1, ab[a]); a4[a] = calloc(1, ab[a]); }
        tq_error e;
        CHECK_OK(tq_quantize_threads(&P[k], "w", w, R, C, c1, a1, 0, 1, &e), e);
        CHECK_OK(tq_quantize_threads(&P[k], "w", w, R, C, c4, a4, 0, 4, &e), e);
        CHECK(memcmp(c1, c4, cb) == 0);
        for (int a = 0; a < na; a++) CHECK(memcmp(a1[a], a4[a], ab[a]) == 0);
        free(c1); free(c4);
        for (int a = 0; a < na; a++) { free(a1[a]); free(a4[a]); }
    }
    free(w);
}

static void selftest(void) {
    TQ_CASE("selftest: every check of every codec passes; every codec is covered");
    tq_selftest_result *r = NULL;
    int64_t n = 0;
    tq_error e;
    CHECK_OK(tq_selftest_run(&r, &n, &e), e);
    int64_t fails = 0;
    for (int64_t i = 0; i < n; i++)
        if (!r[i].pass) { fails++; fprintf(stderr, "  %s %s %s: %s\n", r[i].codec, r[i].vector, r[i].check, r[i].detail); }
    CHECK_EQ_INT(fails, 0);
    for (int i = 0; i < tq_codec_count(); i++) {
        const char *nm = tq_codec_at(i)->name;
        if (tq_codec_at(i)->decode_only) continue;   /* nothing to self-test: no quantize */
        bool seen = false;
        for (int64_t k = 0; k < n && !seen; k++) seen = strncmp(r[k].codec, nm, strlen(nm)) == 0 && r[k].codec[strlen(nm)] == '/';
        CHECK_MSG(seen, "codec %s not covered", nm);
    }
    CHECK(n >= 6 * 3 * 3);
    free(r);

    TQ_CASE("codec table: names, aliases, layouts of the new codecs");
    CHECK(tq_codec_by_name("qins-log")->id == TQ_CODEC_QINS_LOG);
    CHECK(tq_codec_by_name("qins-log-2b")->id == TQ_CODEC_QINS_LOG_2B);
    CHECK(tq_codec_by_name("rational")->id == TQ_CODEC_QINS_RATIONAL);
    CHECK(tq_codec_by_name("NF4")->id == TQ_CODEC_NF4);
    CHECK_EQ_INT(tq_codec_count(), TQ_CODEC_COUNT - 1);   /* one row per id, the decode-only foreign layouts (gptq, awq, ct-*, bnb-*) included */
    tq_qparams bad = {TQ_CODEC_NF4, 8, TQ_GRAN_GROUP, 64, 0, 0, 0, 0};
    CHECK_ERR(tq_qparams_check(&bad, "x", 2, 128, &e), e, TQ_E_ARG, "does not support 8 bits");
    tq_qparams lg = {TQ_CODEC_QINS_LOG, 8, TQ_GRAN_GROUP, 64, 0, 0, 0, 0};
    CHECK_ERR(tq_qparams_check(&lg, "x", 2, 128, &e), e, TQ_E_ARG, "granularity");
}

void tq_tests(void) {
    kat_log();
    kat_rational();
    kat_nf4();
    bounds_and_edges();
    files();
    threads();
    selftest();
}
