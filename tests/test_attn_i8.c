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
 *    64, 80 (over one 64-wide panel), zero rows, subnormal and huge rows;
 *  - the fused softmax (tq_attn_i8_probs): each code within 0.505 of
 *    255 e^((sc - max) / div) in double over the scores tq_attn_i8_scores
 *    gives, masked keys and pads 0, a 255 in every row, the scale 1 / (sum of
 *    the codes); its context against the float-softmax path; AVX-512 =
 *    portable bytes (codes, scales, context) for S 1, 5, 17, 130 and the rest.
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

/* the fused softmax's codes of one head against double arithmetic on the
 * scores; returns the largest |code - 255 e| seen */
static double check_probs(head *h, float div, tq_kisa isa) {
    int S = h->S, hs = h->hs, S4 = (S + 3) / 4 * 4;
    double worst = 0, kf = div != 0.0f ? 1.0 / div : 1.0;
    tq_attn_i8_scores(h->q, h->k, h->ld, S, hs, h->sc, h->ws, isa);
    tq_attn_i8_probs(h->q, h->k, h->ld, h->mask, S, hs, div, h->ws, isa);
    const float *ps;
    const uint8_t *c = tq_attn_i8_codes(h->ws, S, hs, &ps);
    for (int i = 0; i < S; i++) {
        const float *y = h->sc + (size_t)i * S;
        const uint8_t *o = c + (size_t)i * S4;
        double m = -INFINITY;
        for (int j = 0; j < S; j++)
            if (h->mask[j] && y[j] > m) m = y[j];
        int top = 0;
        double esum = 0;
        for (int j = 0; j < S4; j++) {
            top = o[j] > top ? o[j] : top;
            if (j >= S || !h->mask[j]) {
                CHECK_MSG(o[j] == 0, "S %d row %d key %d: masked or pad code %d", S, i, j, o[j]);
                continue;
            }
            double e = 255.0 * exp((y[j] - m) * kf), d = fabs(o[j] - e);
            esum += e;
            worst = d > worst ? d : worst;
        }
        CHECK_MSG(top == 255, "S %d row %d: largest code %d", S, i, top);
        CHECK_MSG(fabs(ps[i] * esum - 1.0) < 2e-6, "S %d row %d: scale %.9g, 1 / sum 255 e %.9g", S, i, ps[i], 1 / esum);
    }
    return worst;
}

static void case_probs(void) {
    uint64_t rs = 13;
    double worst = 0;
    static const int more[][2] = {{1, 32}, {5, 32}, {17, 64}, {130, 64}};
    for (int s = 0; s < NSHAPES + 4; s++)
        for (int masked = 0; masked < 2; masked++) {
            const int *sh = s < NSHAPES ? SHAPES[s] : more[s - NSHAPES];
            head h;
            fill(&h, sh[0], sh[1], masked, &rs);
            float div = s % 2 ? sqrtf((float)h.hs) : 0.0f;
            for (int isa = TQ_KISA_PORTABLE; isa <= TQ_KISA_AVX512; isa += TQ_KISA_AVX512) {
                if (tq_attn_i8_isa((tq_kisa)isa) != (tq_kisa)isa) continue;
                double w = check_probs(&h, div, (tq_kisa)isa);
                CHECK_MSG(w <= 0.505, "S %d hs %d masked %d isa %d: code off by %.4f", h.S, h.hs, masked, isa, w);
                worst = w > worst ? w : worst;
            }
            /* the context against the float softmax's (p from the scores) */
            int S = h.S, hs = h.hs;
            for (int i = 0; i < S; i++) {
                double m = -INFINITY, sum = 0;
                for (int j = 0; j < S; j++)
                    if (h.mask[j] && h.sc[i * S + j] > m) m = h.sc[i * S + j];
                for (int j = 0; j < S; j++)
                    sum += h.p[i * S + j] = h.mask[j] ? (float)exp((h.sc[i * S + j] - m) / (div != 0.0f ? div : 1.0)) : 0.0f;
                for (int j = 0; j < S; j++) h.p[i * S + j] = (float)(h.p[i * S + j] / sum);
            }
            float *c0 = malloc(sizeof(float) * S * hs);
            tq_attn_i8_context(h.p, h.v, h.ld, h.mask, S, hs, c0, hs, h.ws, TQ_KISA_PORTABLE);
            tq_attn_i8_probs(h.q, h.k, h.ld, h.mask, S, hs, div, h.ws, TQ_KISA_PORTABLE);
            tq_attn_i8_attend(h.v, h.ld, h.mask, S, hs, h.ctx, hs, h.ws, TQ_KISA_PORTABLE);
            double e2 = 0, r2 = 0;
            for (int i = 0; i < S * hs; i++) e2 += (h.ctx[i] - c0[i]) * (double)(h.ctx[i] - c0[i]), r2 += c0[i] * (double)c0[i];
            CHECK_MSG(e2 <= 1e-4 * r2 + 1e-12, "S %d hs %d: fused context off the float softmax's by rel. RMS %.3g", S, hs,
                      sqrt(e2 / (r2 + 1e-30)));
            free(c0);
            drop(&h);
        }
    printf("  largest |code - 255 e|: %.4f\n", worst);
    CHECK(worst > 0.45);   /* codes are rounded, not exact */
}

/* AVX-512 = portable bytes for the fused path */
static void case_probs_isa(void) {
    if (tq_attn_i8_isa(TQ_KISA_AVX512) != TQ_KISA_AVX512) TQ_SKIP("no AVX-512 VNNI on this CPU");
    uint64_t rs = 17;
    static const int more[][2] = {{1, 32}, {5, 32}, {17, 64}, {130, 64}, {2, 3}};
    for (int s = 0; s < NSHAPES + 5; s++)
        for (int kind = 0; kind < 3; kind++) {
            const int *sh = s < NSHAPES ? SHAPES[s] : more[s - NSHAPES];
            head h;
            fill(&h, sh[0], sh[1], kind > 0, &rs);
            int S = h.S, hs = h.hs, ld = h.ld, S4 = (S + 3) / 4 * 4;
            float div = kind == 1 ? sqrtf((float)hs) : 0.0f;
            if (kind == 2)
                for (int d = 0; d < 3 * hs + 5; d++) {
                    h.q[d] = 0.0f;
                    if (S > 1) h.q[ld + d] = 1e-42f * (float)(d % 3);
                    if (S > 2) h.q[2 * ld + d] = 3e37f * (d % 2 ? 1.0f : -0.5f);
                }
            size_t nb = tq_attn_i8_scratch(S, hs);
            unsigned char *c0 = malloc((size_t)S * S4 + sizeof(float) * (size_t)S * (hs + 1));
            float *ctx = malloc(sizeof(float) * S * hs);
            const float *ps;
            tq_attn_i8_probs(h.q, h.k, ld, h.mask, S, hs, div, h.ws, TQ_KISA_PORTABLE);
            memcpy(c0, tq_attn_i8_codes(h.ws, S, hs, &ps), (size_t)S * S4);
            memcpy(c0 + (size_t)S * S4, ps, sizeof(float) * S);
            tq_attn_i8_attend(h.v, ld, h.mask, S, hs, h.ctx, hs, h.ws, TQ_KISA_PORTABLE);
            memset(h.ws, 0xa5, nb);   /* nothing read before it is written */
            tq_attn_i8_probs(h.q, h.k, ld, h.mask, S, hs, div, h.ws, TQ_KISA_AVX512);
            const uint8_t *c = tq_attn_i8_codes(h.ws, S, hs, &ps);
            CHECK_MSG(!memcmp(c, c0, (size_t)S * S4), "S %d hs %d kind %d: p codes differ", S, hs, kind);
            CHECK_MSG(!memcmp(ps, c0 + (size_t)S * S4, sizeof(float) * S), "S %d hs %d kind %d: p scales differ", S, hs, kind);
            tq_attn_i8_attend(h.v, ld, h.mask, S, hs, ctx, hs, h.ws, TQ_KISA_AVX512);
            CHECK_MSG(!memcmp(ctx, h.ctx, sizeof(float) * S * hs), "S %d hs %d kind %d: context differs", S, hs, kind);
            free(c0);
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
    TQ_CASE("fused softmax: p codes within rounding of 255 e^t in double, masked 0, scale 1 / sum 255 e");
    case_probs();
    TQ_CASE("fused softmax: AVX-512 VNNI gives the portable bytes (S 1, 5, 17, 130; zero / subnormal / huge rows)");
    case_probs_isa();
}
