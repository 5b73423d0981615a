/*
 * test_kern_ggml512.c — the AVX-512 VNNI and AVX2 rows of ggml Q8_0 and
 * Q4_0 (kern_avx512.c, kern_avx2.c): on random blocks (codes over the whole
 * range, -128 included, scales of both signs), odd row counts (tails of the
 * 8- and 4-row steps) and 1..9 activation rows,
 *   - every output equals, byte for byte, a scalar model of ggml's x86 dot
 *     written here from its contract (8 float lanes, lane k gets fmaf(d_w
 *     d_x, s_k, acc_k) block after block, s_k the int32 sum of products
 *     4k..4k+3; then ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7))), or for Q4_0
 *     matrices of a multiple of 8 rows ggml's repacked Q4_0x8 order (one
 *     float, fmaf((float)S_b, d_w d_x, acc), S_b the block's exact sum);
 *   - an activation row's outputs in a batch equal its outputs alone (n = 1),
 *     which is what makes the batched prompt give the token-by-token bytes;
 *   - rows [r0, r1) of a split equal the whole product's.
 * Skipped where the CPU lacks AVX-512 VNNI.
 */
#include "tq_test.h"
#include "kern/kern.h"
#include "ggml/ggml_types.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

static uint32_t rng = 2463534242u;
static uint32_t next_u32(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static float unif(void) { return (float)(next_u32() >> 8) / 16777216.0f * 2.0f - 1.0f; }

/* Random ggml blocks: an f16 scale (0x2000..0x2fff, either sign), then codes. */
static void fill_blocks(uint8_t *codes, int64_t rows, int64_t nb, int bytes) {
    for (int64_t i = 0; i < rows * nb; i++) {
        uint8_t *p = codes + i * bytes;
        uint16_t h = (uint16_t)(0x2000 + (next_u32() & 0x0fff)) | (uint16_t)((next_u32() & 1) << 15);
        memcpy(p, &h, 2);
        for (int b = 2; b < bytes; b++) p[b] = (uint8_t)next_u32();
    }
}

/* The contract, scalar, on the activation codes the kernels saw. */
static void lanes_ref(const tq_kmat *k, const tq_kact *a, int bytes, float *y) {
    int64_t nb = k->cols / 32;
    for (int64_t i = 0; i < a->n; i++)
        for (int64_t r = 0; r < k->rows; r++) {
            float l[8] = {0}, one = 0.0f;
            const int rep = bytes == 18 && k->rows % 8 == 0;   /* ggml's repacked Q4_0x8 order */
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *p = k->codes + r * k->row_bytes + b * bytes;
                const int8_t *xq = a->q + i * a->kpad + b * 32;
                uint16_t h;
                memcpy(&h, p, 2);
                float d = tq_f16_to_f32(h) * a->d[i * a->nb + b];
                int32_t S = 0;
                for (int ln = 0; ln < 8; ln++) {
                    int32_t sk = 0;
                    for (int e = 4 * ln; e < 4 * ln + 4; e++) {
                        int w = bytes == 34 ? (int8_t)p[2 + e] : (e < 16 ? p[2 + e] & 15 : p[2 + e - 16] >> 4) - 8;
                        sk += w * xq[e];
                    }
                    l[ln] = fmaf(d, (float)sk, l[ln]);
                    S += sk;
                }
                one = fmaf((float)S, d, one);
            }
            y[i * k->rows + r] = rep ? one : ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
        }
}

static void product(const tq_kmat *k, const float *x, int64_t n, int64_t r0, int64_t r1, float *y, float *ref) {
    tq_kact a;
    if (tq_kact_init(&a, k, n, k->cols)) return;
    tq_kact_begin(&a, n, k->cols);
    tq_kact_rows(&a, x, k->cols, 0, n);
    tq_kern_matmul_act(k, &a, r0, r1, y, k->rows, 0);
    if (ref) lanes_ref(k, &a, k->kind == TQ_KW_Q8_0 ? 34 : 18, ref);
    tq_kact_free(&a);
}

void tq_tests(void) {
    TQ_CASE("Q8_0/Q4_0 AVX-512 VNNI and AVX2 rows == ggml's lane model byte for byte; batch rows == single rows; splits");
    if (!tq_kern_isa_supported(TQ_KISA_AVX512)) TQ_SKIP("no AVX-512 VNNI on this CPU");
    const struct { const char *name; int type, bytes; } T[] = {{"q8_0", TQ_GGML_Q8_0, 34}, {"q4_0", TQ_GGML_Q4_0, 18}};
    const int64_t shapes[][2] = {{1, 32}, {7, 64}, {37, 96}, {19, 576}, {5, 1536}, {8, 64}, {13, 160}, {16, 96}, {40, 576}};
    for (size_t t = 0; t < 2; t++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            int64_t rows = shapes[si][0], cols = shapes[si][1], nb = cols / 32;
            tq_qparams q = {.codec = TQ_CODEC_GGML, .bits = T[t].type == TQ_GGML_Q8_0 ? 8 : 4, .gran = TQ_GRAN_GROUP,
                            .group = 32, .ggml_type = T[t].type};
            uint8_t *codes = malloc((size_t)(rows * nb * T[t].bytes));
            fill_blocks(codes, rows, nb, T[t].bytes);
            const void *aux[TQ_MAX_AUX] = {0};
            tq_kmat k2, k5;
            CHECK(tq_kern_prepare(&k2, &q, rows, cols, codes, aux, TQ_KISA_AVX2) == 1);
            CHECK(tq_kern_prepare(&k5, &q, rows, cols, codes, aux, TQ_KISA_AVX512) == 1);
            CHECK(k5.isa == TQ_KISA_AVX512 && k2.isa == TQ_KISA_AVX2);
            for (int64_t n = 1; n <= 9; n++) {
                float *x = malloc(sizeof(float) * (size_t)(n * cols));
                for (int64_t i = 0; i < n * cols; i++) x[i] = unif() * (i % 7 == 0 ? 8.0f : 1.0f);
                size_t yb = sizeof(float) * (size_t)(n * rows);
                float *y2 = malloc(yb), *y5 = malloc(yb), *y1 = malloc(sizeof(float) * (size_t)rows), *ys = malloc(yb);
                float *yr = malloc(yb);
                product(&k2, x, n, 0, rows, y2, NULL);
                product(&k5, x, n, 0, rows, y5, yr);
                CHECK_MSG(memcmp(yr, y5, yb) == 0, "%s %lldx%lld n %lld: AVX-512 differs from the lane model", T[t].name,
                          (long long)rows, (long long)cols, (long long)n);
                CHECK_MSG(memcmp(yr, y2, yb) == 0, "%s %lldx%lld n %lld: AVX2 differs from the lane model", T[t].name,
                          (long long)rows, (long long)cols, (long long)n);
                for (int64_t i = 0; i < n; i++) {   /* each activation row alone */
                    product(&k5, x + i * cols, 1, 0, rows, y1, NULL);
                    CHECK_MSG(memcmp(y1, y5 + i * rows, sizeof(float) * (size_t)rows) == 0,
                              "%s %lldx%lld: row %lld of a batch of %lld differs from it alone", T[t].name,
                              (long long)rows, (long long)cols, (long long)i, (long long)n);
                }
                int64_t mid = rows / 3;   /* two splits of the rows */
                product(&k5, x, n, 0, mid, ys, NULL);
                product(&k5, x, n, mid, rows, ys, NULL);
                CHECK_MSG(memcmp(ys, y5, yb) == 0, "%s: split at %lld differs", T[t].name, (long long)mid);
                free(x); free(y2); free(y5); free(y1); free(ys); free(yr);
            }
            tq_kern_release(&k2);
            tq_kern_release(&k5);
            free(codes);
        }
}
