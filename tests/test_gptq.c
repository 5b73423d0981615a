/* test_gptq.c — GPTQ (src/quant/gptq.c) on synthetic layers:
 *   - against an independent double-precision GPTQ written here (unblocked,
 *     its own Cholesky and inverse, its own codec formulas): every decoded
 *     value equal, in natural and in act-order, with a dead input column and
 *     a lazy block that does not line up with the groups;
 *   - the output error ||X (W - Q)^T||^2 on the calibration inputs never
 *     worse than round-to-nearest, for linear-sym, linear-affine and mlx rows
 *     at several widths and granularities;
 *   - the same bytes for 1 and 2 threads; bad inputs give named errors. */
#include "tq_test.h"
#include "quant/gptq.h"
#include <float.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x51ed270b27a3c1d5ull;
static double uni(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2.0 * log(uni())) * cos(6.283185307179586 * uni()); }

enum { ROWS = 24, COLS = 128, NX = 300 };

/* correlated inputs with uneven scales (a few loud channels), column `dead`
 * always 0; H = X^T X (full) */
static void make_layer(float *w, double *H, int dead) {
    static double X[NX][COLS];
    for (int t = 0; t < NX; t++) {
        double base = gauss();
        for (int c = 0; c < COLS; c++) {
            double loud = c % 17 == 3 ? 8.0 : 1.0 + (double)(c % 5) * 0.3;
            X[t][c] = c == dead ? 0.0 : loud * (0.6 * gauss() + 0.5 * base + 0.2 * (c ? X[t][c - 1] : 0.0));
        }
    }
    for (int i = 0; i < COLS; i++)
        for (int j = 0; j < COLS; j++) {
            double s = 0;
            for (int t = 0; t < NX; t++) s += X[t][i] * X[t][j];
            H[i * COLS + j] = s;
        }
    for (int i = 0; i < ROWS * COLS; i++) w[i] = (float)(0.05 * gauss() + (uni() < 0.01 ? 0.4 * gauss() : 0.0));
}

/* ---- the reference -------------------------------------------------------- */

static float rne(float x) { return nearbyintf(x); }
static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* the codec's block choice and rounding, from docs/formats (linear) */
typedef struct ref_blk { float s, z; } ref_blk;
static ref_blk ref_choose(int affine, int bits, const float *x, int n) {
    ref_blk b = {0, 0};
    if (!affine) {
        float m = 0;
        for (int i = 0; i < n; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
        b.s = m / (float)((1 << (bits - 1)) - 1);
        if (b.s < FLT_MIN) b.s = 0;
        return b;
    }
    float lo = 0, hi = 0;
    for (int i = 0; i < n; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; }
    float umax = (float)((1 << bits) - 1);
    b.s = (hi - lo) / umax;
    if (b.s < FLT_MIN) { b.s = 0; return b; }
    b.z = clampf(nearbyintf(-lo / b.s), 0, umax);
    return b;
}
static float ref_value(int affine, int bits, ref_blk b, float x) {
    if (!(b.s > 0)) return 0;
    if (!affine) { float qm = (float)((1 << (bits - 1)) - 1); return clampf(rne(x / b.s), -qm, qm) * b.s; }
    float um = (float)((1 << bits) - 1);
    float u = clampf(rne(clampf(x / b.s, -um - 1, um + 1)) + b.z, 0, um);
    return (u - b.z) * b.s;
}

/* lower Cholesky L of A (n x n), in place into L */
static void chol(const double *A, double *L, int n) {
    memset(L, 0, sizeof(double) * (size_t)n * n);
    for (int j = 0; j < n; j++) {
        double s = A[j * n + j];
        for (int k = 0; k < j; k++) s -= L[j * n + k] * L[j * n + k];
        L[j * n + j] = sqrt(s);
        for (int i = j + 1; i < n; i++) {
            double t = A[i * n + j];
            for (int k = 0; k < j; k++) t -= L[i * n + k] * L[j * n + k];
            L[i * n + j] = t / L[j * n + j];
        }
    }
}

/* GPTQ, unblocked, straight from the definition (gptq.h) */
static void ref_gptq(int affine, int bits, int group, int act, const float *w0, const double *H0, float *Q) {
    const int n = COLS;
    static double H[COLS * COLS], L[COLS * COLS], Li[COLS * COLS], Hi[COLS * COLS], U[COLS * COLS], W[ROWS][COLS];
    int perm[COLS], dead[COLS];
    double mean = 0;
    for (int i = 0; i < n; i++) { dead[i] = H0[i * n + i] == 0; mean += dead[i] ? 1.0 : H0[i * n + i]; perm[i] = i; }
    double lam = 0.01 * mean / n;
    if (act)   /* insertion sort: descending diagonal, ties by index */
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0; j--) {
                double a = dead[perm[j]] ? 1.0 : H0[perm[j] * n + perm[j]], b = dead[perm[j - 1]] ? 1.0 : H0[perm[j - 1] * n + perm[j - 1]];
                if (a > b) { int t = perm[j]; perm[j] = perm[j - 1]; perm[j - 1] = t; } else break;
            }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            H[a * n + b] = a == b ? (dead[perm[a]] ? 1.0 : H0[perm[a] * n + perm[a]]) + lam : H0[perm[a] * n + perm[b]];
    chol(H, L, n);
    /* Li = L^-1 (forward substitution), Hi = Li^T Li, U = chol(Hi)^T */
    memset(Li, 0, sizeof Li);
    for (int c = 0; c < n; c++)
        for (int i = c; i < n; i++) {
            double s = i == c ? 1.0 : 0.0;
            for (int k = c; k < i; k++) s -= L[i * n + k] * Li[k * n + c];
            Li[i * n + c] = s / L[i * n + i];
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += Li[k * n + i] * Li[k * n + j];
            Hi[i * n + j] = s;
        }
    chol(Hi, L, n);
    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) U[i * n + j] = L[j * n + i];
    for (int r = 0; r < ROWS; r++) for (int a = 0; a < n; a++) W[r][a] = dead[perm[a]] ? 0.0 : w0[r * n + perm[a]];
    int ng = n / group, chosen[COLS] = {0};
    static ref_blk blk[ROWS][COLS];
    for (int i = 0; i < n; i++) {
        int j = perm[i], k = j / group;
        if (!chosen[k]) {
            for (int r = 0; r < ROWS; r++) {
                float x[COLS];
                for (int c = 0; c < group; c++) {
                    int a = 0;
                    while (perm[a] != k * group + c) a++;
                    x[c] = (float)W[r][a];
                }
                blk[r][k] = ref_choose(affine, bits, x, group);
            }
            chosen[k] = 1;
        }
        for (int r = 0; r < ROWS; r++) {
            float v = ref_value(affine, bits, blk[r][k], (float)W[r][i]);
            Q[r * n + j] = v;
            double e = (W[r][i] - v) / U[i * n + i];
            for (int t = i + 1; t < n; t++) W[r][t] -= e * U[i * n + t];
        }
    }
    (void)ng;
}

/* ---- helpers ---------------------------------------------------------------- */

typedef struct qbuf { void *codes; void *aux[TQ_MAX_AUX]; int na; } qbuf;
static void qb_alloc(qbuf *b, const tq_qparams *q) {
    tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
    b->na = tq_qparams_layout(q, ROWS, COLS, &cd, cs, ad);
    b->codes = calloc(tq_nbytes(cd, 2, cs) + 8, 1);
    memset(b->aux, 0, sizeof b->aux);
    for (int a = 0; a < b->na; a++) b->aux[a] = calloc(tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 8, 1);
}
static void qb_free(qbuf *b) { free(b->codes); for (int a = 0; a < b->na; a++) free(b->aux[a]); }

static tq_qparams qp(tq_codec_id c, int bits, tq_granularity g, int64_t group) {
    tq_qparams q;
    memset(&q, 0, sizeof q);
    q.codec = c; q.bits = bits; q.gran = g; q.group = group;
    return q;
}

static float W0[ROWS * COLS];
static double H0[COLS * COLS];

static void against_reference(int affine, int act, int block) {
    tq_qparams q = qp(affine ? TQ_CODEC_LINEAR_AFFINE : TQ_CODEC_LINEAR_SYM, 4, TQ_GRAN_GROUP, 32);
    qbuf b;
    qb_alloc(&b, &q);
    tq_error err;
    tq_gptq_options o = {0.01, act, block};
    tq_status st = tq_gptq_quantize(&q, "t", W0, ROWS, COLS, H0, &o, b.codes, b.aux, &err);
    CHECK_OK(st, err);
    static float got[ROWS * COLS], want[ROWS * COLS];
    CHECK_OK(tq_dequantize(&q, ROWS, COLS, b.codes, (const void *const *)b.aux, got, &err), err);
    ref_gptq(affine, 4, 32, act, W0, H0, want);
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < ROWS * COLS; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (d > 1e-9) bad++;
        worst = d > worst ? d : worst;
    }
    CHECK_MSG(bad == 0, "%s act-order %d block %d: %d of %d values differ from the reference (worst %g)",
              affine ? "affine" : "sym", act, block, bad, ROWS * COLS, worst);
    qb_free(&b);
}

static void never_worse(tq_qparams q, int act) {
    qbuf g, r;
    qb_alloc(&g, &q);
    qb_alloc(&r, &q);
    tq_error err;
    tq_gptq_options o = {0, act, 0};
    CHECK_OK(tq_gptq_quantize(&q, "t", W0, ROWS, COLS, H0, &o, g.codes, g.aux, &err), err);
    CHECK_OK(tq_quantize(&q, "t", W0, ROWS, COLS, r.codes, r.aux, 0, &err), err);
    static float qg[ROWS * COLS], qr[ROWS * COLS];
    CHECK_OK(tq_dequantize(&q, ROWS, COLS, g.codes, (const void *const *)g.aux, qg, &err), err);
    CHECK_OK(tq_dequantize(&q, ROWS, COLS, r.codes, (const void *const *)r.aux, qr, &err), err);
    double eg = tq_quant_output_error(W0, qg, ROWS, COLS, H0), er = tq_quant_output_error(W0, qr, ROWS, COLS, H0);
    char qs[128];
    tq_qparams_str(&q, qs, sizeof qs);
    CHECK_MSG(eg <= er, "%s act %d: gptq output error %g > rtn %g", qs, act, eg, er);
    if (q.bits <= 4) CHECK_MSG(eg < 0.9 * er, "%s act %d: gptq %g does not beat rtn %g by 10%%", qs, act, eg, er);
    qb_free(&g);
    qb_free(&r);
}

void tq_tests(void) {
    make_layer(W0, H0, 5);

    TQ_CASE("gptq equals the double reference (sym, affine; natural and act-order; blocks across groups)");
    against_reference(0, 0, 40);
    against_reference(1, 0, 40);
    against_reference(0, 1, 40);
    against_reference(1, 1, 24);
    against_reference(1, 0, 128);

    TQ_CASE("gptq output error never worse than rtn (linear, mlx; widths and granularities)");
    tq_qparams cases[] = {qp(TQ_CODEC_LINEAR_SYM, 4, TQ_GRAN_GROUP, 32), qp(TQ_CODEC_LINEAR_AFFINE, 4, TQ_GRAN_GROUP, 64),
                          qp(TQ_CODEC_LINEAR_AFFINE, 2, TQ_GRAN_CHANNEL, 0), qp(TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_CHANNEL, 0),
                          qp(TQ_CODEC_MLX_F16, 4, TQ_GRAN_GROUP, 64), qp(TQ_CODEC_MLX, 3, TQ_GRAN_GROUP, 32),
                          qp(TQ_CODEC_MLX_BF16, 2, TQ_GRAN_GROUP, 128), qp(TQ_CODEC_MLX_F16, 6, TQ_GRAN_GROUP, 64)};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) { never_worse(cases[i], 0); never_worse(cases[i], 1); }

    TQ_CASE("gptq bytes do not depend on the thread count");
    {
        tq_qparams q = qp(TQ_CODEC_MLX_F16, 4, TQ_GRAN_GROUP, 32);
        qbuf a, b;
        qb_alloc(&a, &q);
        qb_alloc(&b, &q);
        tq_error err;
        tq_gptq_options o = {0, 1, 0};
        tq_set_threads(1);
        CHECK_OK(tq_gptq_quantize(&q, "t", W0, ROWS, COLS, H0, &o, a.codes, a.aux, &err), err);
        tq_set_threads(2);
        CHECK_OK(tq_gptq_quantize(&q, "t", W0, ROWS, COLS, H0, &o, b.codes, b.aux, &err), err);
        tq_set_threads(0);
        CHECK(memcmp(a.codes, b.codes, (size_t)ROWS * COLS / 2) == 0);
        CHECK(memcmp(a.aux[0], b.aux[0], (size_t)ROWS * (COLS / 32) * 2) == 0);
        qb_free(&a);
        qb_free(&b);
    }

    TQ_CASE("gptq bad inputs: named errors");
    {
        tq_qparams q = qp(TQ_CODEC_LINEAR_SYM, 4, TQ_GRAN_GROUP, 32);
        qbuf b;
        qb_alloc(&b, &q);
        tq_error err;
        static float w[ROWS * COLS];
        static double H[COLS * COLS];
        memcpy(w, W0, sizeof w);
        w[77] = NAN;
        CHECK_ERR(tq_gptq_quantize(&q, "enc.w", w, ROWS, COLS, H0, NULL, b.codes, b.aux, &err), err, TQ_E_VALUE,
                  "tensor \"enc.w\": value 77 is nan");
        memcpy(H, H0, sizeof H);
        H[3 * COLS + 3] = -1;
        CHECK_ERR(tq_gptq_quantize(&q, "enc.w", W0, ROWS, COLS, H, NULL, b.codes, b.aux, &err), err, TQ_E_ARG,
                  "Hessian entry (3, 3)");
        tq_gptq_options o = {2.0, 0, 0};
        CHECK_ERR(tq_gptq_quantize(&q, "enc.w", W0, ROWS, COLS, H0, &o, b.codes, b.aux, &err), err, TQ_E_ARG,
                  "damping 2 is outside [0, 1]");
        tq_qparams t = qp(TQ_CODEC_LINEAR_SYM, 4, TQ_GRAN_TENSOR, 0);
        CHECK_ERR(tq_gptq_quantize(&t, "enc.w", W0, ROWS, COLS, H0, NULL, b.codes, b.aux, &err), err, TQ_E_UNSUPPORTED,
                  "per tensor");
        tq_qparams nf = qp(TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 64);
        CHECK_ERR(tq_gptq_quantize(&nf, "enc.w", W0, ROWS, COLS, H0, NULL, b.codes, b.aux, &err), err, TQ_E_UNSUPPORTED,
                  "tensor \"enc.w\": calibrated quantization needs");
        tq_qparams g5 = qp(TQ_CODEC_LINEAR_SYM, 3, TQ_GRAN_GROUP, 32);   /* linear has no 3-bit layout */
        CHECK_ERR(tq_gptq_quantize(&g5, "enc.w", W0, ROWS, COLS, H0, NULL, b.codes, b.aux, &err), err, TQ_E_ARG,
                  "does not fit shape [24, 128]");
        /* all inputs dead: every weight becomes 0 and nothing fails */
        memset(H, 0, sizeof H);
        CHECK_OK(tq_gptq_quantize(&q, "enc.w", W0, ROWS, COLS, H, NULL, b.codes, b.aux, &err), err);
        static float out[ROWS * COLS];
        CHECK_OK(tq_dequantize(&q, ROWS, COLS, b.codes, (const void *const *)b.aux, out, &err), err);
        int nz = 0;
        for (int i = 0; i < ROWS * COLS; i++) nz += out[i] != 0;
        CHECK_EQ_INT(nz, 0);
        qb_free(&b);
    }
}
