/*
 * test_attn_i8.c — one attention head's products in int8 (src/kern/attn_i8.c).
 *
 *  - q k^T against a double-precision product of the unquantized q and k,
 *    within the quantization bound: each code moves its value by at most half
 *    its scale s, so |sc - q.k| <= sum_d (|k_d| s_q / 2 + (|q_d| + s_q / 2) s_k / 2)
 *    (+ 4 float roundings of |sc|);
 *  - p v the same way: |ctx - p.v| <= sum_j (|v_jd| s_p / 2 + (p_j + s_p / 2) s_v(d) / 2)
 *    over unmasked keys (+ roundings), masked keys (weight 0) adding nothing
 *    whatever their values (huge values give the bytes zeros give);
 *  - the AVX-512 VNNI path gives the portable path's bytes (memcmp) on odd
 *    shapes: sequences not a multiple of 4 or 16, head sizes 1, 32, 33, 40,
 *    64, 80 (over one 64-wide panel), zero rows, subnormal and huge rows.
 */
#include "tq_test.h"
#include "kern/attn_i8.h"
#include "kern/kern.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct head {
    int S, hs, ld;
    float *q, *k, *v, *p, *sc, *ctx;
    int32_t *mask;
    void *ws;
} head;

static void *scratch(int S, int hs) {
    size_t n = tq_attn_i8_scratch(S, hs);
    return aligned_alloc(64, (n + 63) / 64 * 64);
}

/* q, k, v of one head inside rows of ld = 3 hs + 5 floats; p a softmax of
 * random scores over the unmasked keys (masked: exactly 0) */
static void fill(head *h, int S, int hs, int masked, uint64_t *rs) {
    h->S = S, h->hs = hs, h->ld = 3 * hs + 5;
    size_t n = (size_t)S * h->ld;
    h->q = malloc(sizeof(float) * n);
    h->k = h->q + hs;
    h->v = h->q + 2 * hs;
    for (size_t i = 0; i < n; i++) h->q[i] = 2.0f * tq_t_randn(rs);
    h->p = malloc(sizeof(float) * S * S);
    h->sc = malloc(sizeof(float) * S * S);
    h->ctx = malloc(sizeof(float) * S * hs);
    h->mask = malloc(sizeof(int32_t) * S);
    for (int j = 0; j < S; j++) h->mask[j] = !masked || j == 0 || j % 5 != 3;
    for (int i = 0; i < S; i++) {
        double sum = 0, t[1024];
        for (int j = 0; j < S; j++) t[j] = h->mask[j] ? exp(3.0 * tq_t_randn(rs)) : 0.0, sum += t[j];
        for (int j = 0; j < S; j++) h->p[i * S + j] = (float)(t[j] / sum);
    }
    h->ws = scratch(S, hs);
}

static void drop(head *h) {
    free(h->q); free(h->p); free(h->sc); free(h->ctx); free(h->mask); free(h->ws);
}

static double amax(const float *x, int n, int stride, const int32_t *mask) {
    double m = 0;
    for (int i = 0; i < n; i++)
        if (!mask || mask[i]) m = fabs(x[i * stride]) > m ? fabs(x[i * stride]) : m;
    return m;
}

/* the worst ratio error / bound over the head's scores and context */
static double check_bounds(head *h, tq_kisa isa) {
    int S = h->S, hs = h->hs, ld = h->ld;
    double worst = 0;
    tq_attn_i8_scores(h->q, h->k, ld, S, hs, h->sc, h->ws, isa);
    for (int i = 0; i < S; i++) {
        double sq = amax(h->q + i * ld, hs, 1, NULL) / 127;
        for (int j = 0; j < S; j++) {
            double sk = amax(h->k + j * ld, hs, 1, NULL) / 127, ex = 0, b = 0;
            for (int d = 0; d < hs; d++) {
                double a = h->q[i * ld + d], c = h->k[j * ld + d];
                ex += a * c;
                b += fabs(c) * sq / 2 + (fabs(a) + sq / 2) * sk / 2;
            }
            b += 5e-7 * fabs(ex) + 1e-30;
            double r = fabs(h->sc[i * S + j] - ex) / b;
            worst = r > worst ? r : worst;
        }
    }
    tq_attn_i8_context(h->p, h->v, ld, h->mask, S, hs, h->ctx, hs, h->ws, isa);
    for (int i = 0; i < S; i++) {
        double sp = amax(h->p + i * S, S, 1, NULL) / 255;
        for (int d = 0; d < hs; d++) {
            double sv = amax(h->v + d, S, ld, h->mask) / 127, ex = 0, b = 0;
            for (int j = 0; j < S; j++) {
                if (!h->mask[j]) continue;
                double p = h->p[i * S + j], v = h->v[j * ld + d];
                ex += p * v;
                b += fabs(v) * sp / 2 + (p + sp / 2) * sv / 2;
            }
            b += 5e-7 * fabs(ex) + 1e-30;
            double r = fabs(h->ctx[i * hs + d] - ex) / b;
            worst = r > worst ? r : worst;
        }
    }
    return worst;
}

static const int SHAPES[][2] = {{128, 32}, {128, 64}, {77, 40}, {1, 1}, {3, 33}, {16, 64}, {50, 80}, {130, 32}, {20, 7}};
#define NSHAPES (int)(sizeof SHAPES / sizeof SHAPES[0])

static void case_bounds(void) {
    uint64_t rs = 11;
    double worst = 0;
    for (int s = 0; s < NSHAPES; s++)
        for (int masked = 0; masked < 2; masked++) {
            head h;
            fill(&h, SHAPES[s][0], SHAPES[s][1], masked, &rs);
            double w = check_bounds(&h, TQ_KISA_PORTABLE);
            CHECK_MSG(w <= 1.0, "S %d hs %d masked %d: error %.3g of the bound", h.S, h.hs, masked, w);
            worst = w > worst ? w : worst;
            drop(&h);
        }
    printf("  largest error: %.3f of the bound\n", worst);
    CHECK(worst > 0.05);   /* the bound is not vacuous */
}

/* masked keys' values do not reach the output: huge ones give zeros' bytes */
static void case_masked(void) {
    uint64_t rs = 5;
    head h;
    fill(&h, 45, 40, 1, &rs);
    float *c0 = malloc(sizeof(float) * h.S * h.hs);
    for (int isa = TQ_KISA_PORTABLE; isa <= TQ_KISA_AVX512; isa += TQ_KISA_AVX512) {
        for (int j = 0; j < h.S; j++)
            if (!h.mask[j])
                for (int d = 0; d < h.hs; d++) h.v[j * h.ld + d] = 0.0f;
        tq_attn_i8_context(h.p, h.v, h.ld, h.mask, h.S, h.hs, c0, h.hs, h.ws, (tq_kisa)isa);
        for (int j = 0; j < h.S; j++)
            if (!h.mask[j])
                for (int d = 0; d < h.hs; d++) h.v[j * h.ld + d] = 1e30f * (d % 2 ? 1 : -1);
        tq_attn_i8_context(h.p, h.v, h.ld, h.mask, h.S, h.hs, h.ctx, h.hs, h.ws, (tq_kisa)isa);
        CHECK_MSG(!memcmp(c0, h.ctx, sizeof(float) * h.S * h.hs), "isa %d: masked values reach the context", isa);
    }
    free(c0);
    drop(&h);
}

static void case_isa(void) {
    if (tq_attn_i8_isa(TQ_KISA_AVX512) != TQ_KISA_AVX512) TQ_SKIP("no AVX-512 VNNI on this CPU");
    uint64_t rs = 7;
    for (int s = 0; s < NSHAPES; s++)
        for (int kind = 0; kind < 3; kind++) {
            head h;
            fill(&h, SHAPES[s][0], SHAPES[s][1], kind > 0, &rs);
            int S = h.S, hs = h.hs, ld = h.ld;
            if (kind == 2)   /* a zero row, a subnormal row, a huge row; a zero column of v */
                for (int d = 0; d < 3 * hs + 5; d++) {
                    h.q[d] = 0.0f;
                    if (S > 1) h.q[ld + d] = 1e-42f * (float)(d % 3);
                    if (S > 2) h.q[2 * ld + d] = 3e37f * (d % 2 ? 1.0f : -0.5f);
                    for (int j = 3; j < S; j++) h.v[j * ld] = 0.0f;
                }
            float *sc = malloc(sizeof(float) * S * S), *ctx = malloc(sizeof(float) * S * hs);
            tq_attn_i8_scores(h.q, h.k, ld, S, hs, h.sc, h.ws, TQ_KISA_PORTABLE);
            tq_attn_i8_context(h.p, h.v, ld, h.mask, S, hs, h.ctx, hs, h.ws, TQ_KISA_PORTABLE);
            memset(h.ws, 0xa5, tq_attn_i8_scratch(S, hs));   /* nothing read before it is written */
            tq_attn_i8_scores(h.q, h.k, ld, S, hs, sc, h.ws, TQ_KISA_AVX512);
            tq_attn_i8_context(h.p, h.v, ld, h.mask, S, hs, ctx, hs, h.ws, TQ_KISA_AVX512);
            CHECK_MSG(!memcmp(sc, h.sc, sizeof(float) * S * S), "S %d hs %d kind %d: scores differ", S, hs, kind);
            CHECK_MSG(!memcmp(ctx, h.ctx, sizeof(float) * S * hs), "S %d hs %d kind %d: context differs", S, hs, kind);
            if (kind < 2) CHECK(check_bounds(&h, TQ_KISA_AVX512) <= 1.0);
            free(sc);
            free(ctx);
            drop(&h);
        }
}

void tq_tests(void) {
    TQ_CASE("q k^T and p v in int8 within the quantization bound of a double product");
    case_bounds();
    TQ_CASE("masked keys: weight 0, their values never reach the context");
    case_masked();
    TQ_CASE("AVX-512 VNNI gives the portable bytes (odd shapes, zero / subnormal / huge rows)");
    case_isa();
}
