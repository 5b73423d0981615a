/*
 * test_attn_f32.c — one attention head's products in float32
 * (src/kern/attn_f32.c).
 *
 *  - every ISA path (portable, avx2 and avx512 asked for) gives exactly the
 *    chain of the contract (attn_f32.h), computed here by fmaf in its order:
 *    scores and context, odd shapes (S 1, 5, 17, 130, 128; hs 1, 7, 32, 33,
 *    64, 80), masked keys at weight 0, scratch filled with garbage first,
 *    nothing written outside the outputs (sentinels around them); the scores
 *    also by tq_attn_f32_scores_ahead, fetching other rows ahead (the same
 *    bytes);
 *  - the portable path within the float rounding bound of a double-precision
 *    product: |sc - q.k| <= gamma(hs) sum_d |q_d k_d| (gamma(n) = n u / (1 - n u),
 *    u = 2^-24), the same for p v over S.
 */
#include "tq_test.h"
#include "kern/attn_f32.h"
#include "kern/kern.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct head {
    int S, hs, ld, ldc;
    float *qkv, *q, *k, *v, *p, *sc, *ctx;   /* ctx: S rows of ldc, sentinels past hs */
    int32_t *mask;
    void *ws;
    size_t ws_bytes;
} head;

#define SENT (-7.25e11f)

static void fill(head *h, int S, int hs, int masked, uint64_t *rs) {
    h->S = S, h->hs = hs, h->ld = 3 * hs + 5, h->ldc = hs + 3;
    size_t n = (size_t)S * h->ld + 16;   /* v's last row read by masked loads only */
    h->qkv = malloc(sizeof(float) * n);
    h->q = h->qkv, h->k = h->qkv + hs, h->v = h->qkv + 2 * hs;
    for (size_t i = 0; i < n; i++) h->qkv[i] = 2.0f * tq_t_randn(rs);
    h->p = malloc(sizeof(float) * S * S);
    h->sc = malloc(sizeof(float) * (S * S + 16));
    h->ctx = malloc(sizeof(float) * S * h->ldc);
    h->mask = malloc(sizeof(int32_t) * S);
    for (int j = 0; j < S; j++) h->mask[j] = !masked || j == 0 || j % 4 != 2;
    for (int i = 0; i < S; i++) {
        double sum = 0, t[256];
        for (int j = 0; j < S; j++) t[j] = h->mask[j] ? exp(2.0 * tq_t_randn(rs)) : 0.0, sum += t[j];
        for (int j = 0; j < S; j++) h->p[i * S + j] = (float)(t[j] / sum);
    }
    h->ws_bytes = (tq_attn_f32_scratch(S, hs) + 63) / 64 * 64;
    h->ws = aligned_alloc(64, h->ws_bytes);
}

static void drop(head *h) {
    free(h->qkv); free(h->p); free(h->sc); free(h->ctx); free(h->mask); free(h->ws);
}

/* run both products on isa over garbage-filled scratch and sentinel outputs
 * (ahead: the scores by tq_attn_f32_scores_ahead, fetching v and rows of q
 * and k one float on, as the encoder passes the next head's); 1 when
 * nothing outside the outputs was written */
static int run(head *h, tq_kisa isa, int ahead) {
    int S = h->S, hs = h->hs;
    memset(h->ws, 0xa5, h->ws_bytes);
    for (int i = 0; i < S * S + 16; i++) h->sc[i] = SENT;
    for (int i = 0; i < S * h->ldc; i++) h->ctx[i] = SENT;
    const float *const rows[3] = {h->v, h->q + 1, ahead > 1 ? NULL : h->k + 1};
    if (ahead) tq_attn_f32_scores_ahead(h->q, h->k, h->ld, S, hs, h->sc, h->ws, isa, rows);
    else tq_attn_f32_scores(h->q, h->k, h->ld, S, hs, h->sc, h->ws, isa);
    tq_attn_f32_context(h->p, h->v, h->ld, S, hs, h->ctx, h->ldc, isa);
    int ok = 1;
    for (int i = S * S; i < S * S + 16; i++) ok &= h->sc[i] == SENT;
    for (int i = 0; i < S; i++)
        for (int d = hs; d < h->ldc; d++) ok &= h->ctx[i * h->ldc + d] == SENT;
    return ok;
}

static const int SHAPES[][2] = {{1, 1}, {1, 64}, {5, 7}, {5, 33}, {17, 1}, {17, 32}, {17, 64}, {130, 7},
                                {130, 32}, {130, 64}, {128, 32}, {128, 64}, {64, 80}, {33, 16}};
#define NSHAPES (int)(sizeof SHAPES / sizeof SHAPES[0])

/* One product of a head: C[i, n] = sum over c < K of A[i * lda + c] B[c * bk + n * bn]
 * for i < M, n < N (scores: A = q, B = k read across; context: A = p, B = v). */
typedef struct prod {
    const float *A, *B, *C;
    int64_t lda, bk, bn, ldc;
    int M, N, K;
} prod;

static prod scores_of(const head *h) {
    return (prod){h->q, h->k, h->sc, h->ld, 1, h->ld, h->S, h->S, h->S, h->hs};
}
static prod context_of(const head *h) {
    return (prod){h->p, h->v, h->ctx, h->S, h->ld, 1, h->ldc, h->S, h->hs, h->S};
}

/* outputs of P that differ by a bit from the contract's chain, by fmaf here */
static int inexact(prod P) {
    int bad = 0;
    for (int i = 0; i < P.M; i++)
        for (int n = 0; n < P.N; n++) {
            float a = 0.0f;
            for (int c = 0; c < P.K; c++) a = fmaf(P.A[i * P.lda + c], P.B[c * P.bk + n * P.bn], a);
            bad += memcmp(&a, &P.C[i * P.ldc + n], 4) != 0;
        }
    return bad;
}

static double gam(int n) { return n * 0x1p-24 / (1 - n * 0x1p-24); }

/* the worst error / rounding bound of P's outputs against doubles */
static double bound_ratio(prod P) {
    double worst = 0;
    for (int i = 0; i < P.M; i++)
        for (int n = 0; n < P.N; n++) {
            double ex = 0, ab = 0;
            for (int c = 0; c < P.K; c++) {
                double t = (double)P.A[i * P.lda + c] * P.B[c * P.bk + n * P.bn];
                ex += t, ab += fabs(t);
            }
            double r = fabs(P.C[i * P.ldc + n] - ex) / (gam(P.K) * ab + 1e-35);
            worst = r > worst ? r : worst;
        }
    return worst;
}

static void case_double(void) {
    uint64_t rs = 3;
    double worst = 0;
    for (int s = 0; s < NSHAPES; s++)
        for (int masked = 0; masked < 2; masked++) {
            head h;
            fill(&h, SHAPES[s][0], SHAPES[s][1], masked, &rs);
            CHECK(run(&h, TQ_KISA_PORTABLE, 0));
            double w = fmax(bound_ratio(scores_of(&h)), bound_ratio(context_of(&h)));
            CHECK_MSG(w <= 1.0, "S %d hs %d masked %d: error %.3g of the bound", h.S, h.hs, masked, w);
            worst = w > worst ? w : worst;
            drop(&h);
        }
    printf("  largest error: %.3g of the rounding bound\n", worst);
}

static void case_isas(void) {
    uint64_t rs = 9;
    const char *names[] = {"portable", "avx2", "avx512"};
    int ran512 = 0;
    for (int isa = TQ_KISA_PORTABLE; isa <= TQ_KISA_AVX512; isa++) {
        ran512 |= tq_attn_f32_isa((tq_kisa)isa) == TQ_KISA_AVX512;
        printf("  %s asked: runs %s\n", names[isa], names[tq_attn_f32_isa((tq_kisa)isa)]);
        for (int s = 0; s < NSHAPES; s++)
            for (int kind = 0; kind < 3; kind++) {
                head h;
                fill(&h, SHAPES[s][0], SHAPES[s][1], kind > 0, &rs);
                if (kind == 2)   /* a zero row, a subnormal row, a huge row; signed zeros in v */
                    for (int d = 0; d < 3 * h.hs + 5; d++) {
                        h.q[d] = 0.0f;
                        if (h.S > 1) h.q[h.ld + d] = 1e-42f * (float)(d % 3);
                        if (h.S > 2) h.q[2 * h.ld + d] = 3e18f * (d % 2 ? 1.0f : -0.5f);
                        for (int j = 3; j < h.S; j++) h.v[j * h.ld] = j % 2 ? -0.0f : 0.0f;
                    }
                for (int ahead = 0; ahead < 3; ahead++) {
                    CHECK_MSG(run(&h, (tq_kisa)isa, ahead), "%s S %d hs %d ahead %d: wrote outside its outputs", names[isa],
                              h.S, h.hs, ahead);
                    CHECK_MSG(!inexact(scores_of(&h)) && !inexact(context_of(&h)),
                              "%s S %d hs %d kind %d ahead %d: not the contract's bytes", names[isa], h.S, h.hs, kind, ahead);
                }
                drop(&h);
            }
    }
    if (!ran512) printf("  (no AVX-512 on this CPU: the portable path only)\n");
}

void tq_tests(void) {
    TQ_CASE("portable q k^T and p v within float rounding of a double product");
    case_double();
    TQ_CASE("every ISA gives the contract's fmaf chains byte for byte (odd shapes, masks, zero/subnormal/huge rows, rows fetched ahead)");
    case_isas();
}
