/*
 * test_gemm_i8.c — the I8 matrix x matrix paths (src/kern/gemm_i8_avx512.c,
 * gemm_i8_avx2.c), the vector activation quantizers and the attention softmax (src/nn/ops/
 * softmax.c), on odd shapes.
 *
 *  - I8 with one scale per row or per tensor, many activation rows (rows,
 *    columns and tokens not multiples of the 4 x 64 register tile, the
 *    16-row packing or the 64-token cache block): every ISA this CPU runs
 *    gives the portable path's bytes (memcmp), within the activation-
 *    quantization bound of a double-precision reference;
 *  - a product over a row view of the activations (tq_kact_view, what the
 *    encoder's token chunks use) gives those rows' bytes of the whole one;
 *  - tiles run on the shared pool with 1, 2 and 3 threads: the same bytes;
 *  - the AVX-512 and AVX2 quantizers give the C quantizer's codes and scales, also
 *    for zeros, huge values, infinities and NaN;
 *  - the float32 product over weights packed once (tq_gemm_f32): against a
 *    double reference within float rounding (K u sum |terms|), tiles of any
 *    split and 1, 2, 3 threads give the same bytes, the AVX2 kernel the
 *    AVX-512 one's (where the CPU has both), packing refuses rows
 *    that are not a multiple of 16;
 *  - the AMX-INT8 product (gemm_i8_amx.c) against the VNNI kernel and the
 *    portable path, byte for byte: tokens 1..129, columns with k4 % 16 != 0
 *    and under 64, row ranges off the 32-row tile, acc 0/1, bias or none,
 *    1/2/3 pool threads (skipped without AMX);
 *  - tq_softmax_exp against exp in double (relative error < 2e-7, 0 below
 *    -86), softmax rows against a double reference, masked keys exactly 0.
 */
#include "tq_test.h"
#include "kern/kern.h"
#include "kern/kern_impl.h"
#include "kern/pool.h"
#include "kern/gemm_i8_avx512.h"
#include "kern/gemm_i8_amx.h"
#include "nn/ops/softmax.h"
#include <float.h>
#include <stdlib.h>

typedef struct prod {
    const tq_kmat *k;
    const tq_kact *a;
    float *y;
    int64_t n, rows, tr, tc;   /* tiles of tr tokens x tc outputs */
    int nct;
} prod;

static void tile_fn(void *ctx, int task, int worker) {
    (void)worker;
    prod *p = ctx;
    int64_t t0 = task / p->nct * p->tr, c0 = task % p->nct * p->tc;
    int64_t t1 = t0 + p->tr < p->n ? t0 + p->tr : p->n, c1 = c0 + p->tc < p->rows ? c0 + p->tc : p->rows;
    tq_kact v = tq_kact_view(p->a, t0, t1);
    tq_kern_matmul_act(p->k, &v, c0, c1, p->y + t0 * p->rows, p->rows, 0);
}

static double worst;

static void check(tq_granularity gran, int64_t rows, int64_t cols, int64_t n, uint64_t *rng) {
    tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = gran};
    int8_t *codes = malloc((size_t)(rows * cols));
    float *scale = malloc(sizeof(float) * (size_t)rows), *w = malloc(sizeof(float) * (size_t)(rows * cols));
    float *src = malloc(sizeof(float) * (size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) src[i] = tq_t_randn(rng) * (1.0f + (float)(i % 5));
    void *aux[TQ_MAX_AUX] = {scale};
    tq_error err = {0};
    CHECK_OK(tq_quantize(&q, "w", src, rows, cols, codes, aux, 0, &err), err);
    CHECK_OK(tq_dequantize(&q, rows, cols, codes, (const void *const *)aux, w, &err), err);
    float *x = malloc(sizeof(float) * (size_t)(n * cols));
    for (int64_t i = 0; i < n * cols; i++) x[i] = tq_t_randn(rng) * (i % 7 == 0 ? 4.0f : 1.0f);
    if (n > 2) memset(x + 2 * cols, 0, sizeof(float) * (size_t)cols);   /* a zero token: scale 0 */
    size_t ny = (size_t)(n * rows);
    float *yp = malloc(sizeof(float) * ny), *y = malloc(sizeof(float) * ny), *yt = malloc(sizeof(float) * ny);
    for (int isa = 0; isa < TQ_KISA_COUNT; isa++) {
        if (!tq_kern_isa_supported((tq_kisa)isa)) continue;
        const char *in = tq_kern_isa_name((tq_kisa)isa);
        tq_kmat k;
        CHECK(tq_kern_prepare(&k, &q, rows, cols, codes, (const void *const *)aux, (tq_kisa)isa) == 1);
        tq_kact a;
        CHECK(tq_kact_init(&a, &k, n, cols) == TQ_OK);
        tq_kact_begin(&a, n, cols);
        tq_kact_rows(&a, x, cols, 0, n);
        tq_kern_matmul_act(&k, &a, 0, rows, y, rows, 0);
        if (isa == TQ_KISA_PORTABLE) {
            /* the double reference over the unquantized activations */
            for (int64_t i = 0; i < n; i++) {
                float amax = 0;
                for (int64_t c = 0; c < cols; c++) amax = fabsf(x[i * cols + c]) > amax ? fabsf(x[i * cols + c]) : amax;
                double dh = amax / 127.0f / 2.0;
                for (int64_t r = 0; r < rows; r++) {
                    double ref = 0, bound = 0, mag = 0;
                    for (int64_t c = 0; c < cols; c++) {
                        ref += (double)w[r * cols + c] * x[i * cols + c];
                        bound += fabs(w[r * cols + c]) * dh;
                        mag += fabs((double)w[r * cols + c] * x[i * cols + c]);
                    }
                    double got = y[i * rows + r], tol = bound + 1e-6 * mag + 1e-30;
                    CHECK_MSG(fabs(got - ref) <= tol, "%lldx%lld n %lld: y[%lld,%lld] %.9g, ref %.9g, bound %.3g",
                              (long long)rows, (long long)cols, (long long)n, (long long)i, (long long)r, got, ref, tol);
                    if (bound > 0 && fabs(got - ref) / tol > worst) worst = fabs(got - ref) / tol;
                }
            }
            memcpy(yp, y, sizeof(float) * ny);
        } else {
            CHECK_MSG(!memcmp(y, yp, sizeof(float) * ny), "%s %lldx%lld n %lld: not the portable path's bytes", in,
                      (long long)rows, (long long)cols, (long long)n);
        }
        /* a row view: those rows of the whole product, also accumulated */
        if (n > 3) {
            int64_t i0 = 1, i1 = n - 2, r0 = rows / 3, r1 = rows - rows / 4;
            for (size_t i = 0; i < ny; i++) yt[i] = 0.5f;
            tq_kact v = tq_kact_view(&a, i0, i1);
            tq_kern_matmul_act(&k, &v, r0, r1, yt + i0 * rows, rows, 1);
            int same = 1;
            for (int64_t i = 0; i < n; i++)
                for (int64_t r = 0; r < rows; r++) {
                    float want = i >= i0 && i < i1 && r >= r0 && r < r1 ? 0.5f + y[i * rows + r] : 0.5f;
                    same &= yt[i * rows + r] == want;
                }
            CHECK_MSG(same, "%s %lldx%lld n %lld: a row view differs from the whole product", in, (long long)rows,
                      (long long)cols, (long long)n);
        }
        /* tiles on the pool: 1, 2 and 3 threads, the same bytes */
        for (int th = 1; th <= 3; th++) {
            prod p = {.k = &k, .a = &a, .y = yt, .n = n, .rows = rows, .tr = 37, .tc = 40};
            p.nct = (int)((rows + p.tc - 1) / p.tc);
            memset(yt, 0xff, sizeof(float) * ny);
            tq_pool_run(tq_pool_shared(th), th, (int)((n + p.tr - 1) / p.tr) * p.nct, tile_fn, &p);
            CHECK_MSG(!memcmp(yt, y, sizeof(float) * ny), "%s %lldx%lld n %lld: %d threads differ", in, (long long)rows,
                      (long long)cols, (long long)n, th);
        }
        tq_kact_free(&a);
        tq_kern_release(&k);
    }
    free(codes); free(scale); free(w); free(src); free(x); free(yp); free(y); free(yt);
}

typedef struct fprod {
    const float *wp, *x;
    float *y;
    int64_t n, rows, cols;
} fprod;

/* tiles of 7 tokens x 32 outputs */
static void ftile_fn(void *ctx, int task, int worker) {
    (void)worker;
    const fprod *p = ctx;
    int64_t nct = (p->rows + 31) / 32, t0 = task / nct * 7, c0 = task % nct * 32;
    int64_t t1 = t0 + 7 < p->n ? t0 + 7 : p->n, c1 = c0 + 32 < p->rows ? c0 + 32 : p->rows;
    tq_gemm_f32(p->wp, p->cols, p->x + t0 * p->cols, p->cols, t1 - t0, c0, c1, p->y + t0 * p->rows, p->rows);
}

static void check_f32(int64_t rows, int64_t cols, int64_t n, uint64_t *rng) {
    float *w = malloc(sizeof(float) * (size_t)(rows * cols)), *wp = malloc(sizeof(float) * (size_t)(rows * cols));
    float *x = malloc(sizeof(float) * (size_t)(n * cols));
    size_t ny = (size_t)(n * rows);
    float *y = malloc(sizeof(float) * ny), *yt = malloc(sizeof(float) * ny), *y0 = malloc(sizeof(float) * ny);
    for (int64_t i = 0; i < rows * cols; i++) w[i] = tq_t_randn(rng);
    for (int64_t i = 0; i < n * cols; i++) x[i] = tq_t_randn(rng) * 2.0f;
    for (size_t i = 0; i < ny; i++) y0[i] = (float)(i % 11) - 5.0f;   /* bias / residual the product adds to */
    memcpy(wp, w, sizeof(float) * (size_t)(rows * cols));
    CHECK(tq_gemm_f32_pack(wp, rows, cols) == 0);
    memcpy(y, y0, sizeof(float) * ny);
    tq_gemm_f32(wp, cols, x, cols, n, 0, rows, y, rows);
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++)
        for (int64_t r = 0; r < rows && ok; r++) {
            double ref = y0[i * rows + r], mag = fabs(ref);
            for (int64_t c = 0; c < cols; c++) {
                ref += (double)x[i * cols + c] * w[r * cols + c];
                mag += fabs((double)x[i * cols + c] * w[r * cols + c]);
            }
            double tol = 6e-8 * (double)(cols + 2) * mag + 1e-30;
            ok = fabs(y[i * rows + r] - ref) <= tol;
            CHECK_MSG(ok, "f32 %lldx%lld n %lld: y[%lld,%lld] %.9g, ref %.9g (tol %.3g)", (long long)rows,
                      (long long)cols, (long long)n, (long long)i, (long long)r, (double)y[i * rows + r], ref, tol);
        }
    /* the AVX2 kernel (tq_gemm_f32 without AVX-512): the same bytes */
    memcpy(yt, y0, sizeof(float) * ny);
    tq_gemm_f32_avx2(wp, cols, x, cols, n, 0, rows, yt, rows);
    CHECK_MSG(!memcmp(yt, y, sizeof(float) * ny), "f32 %lldx%lld n %lld: the AVX2 kernel's bytes differ",
              (long long)rows, (long long)cols, (long long)n);
    for (int th = 1; th <= 3; th++) {
        fprod p = {.wp = wp, .x = x, .y = yt, .n = n, .rows = rows, .cols = cols};
        memcpy(yt, y0, sizeof(float) * ny);
        tq_pool_run(tq_pool_shared(th), th, (int)((n + 6) / 7 * ((rows + 31) / 32)), ftile_fn, &p);
        CHECK_MSG(!memcmp(yt, y, sizeof(float) * ny), "f32 %lldx%lld n %lld: tiles on %d threads differ",
                  (long long)rows, (long long)cols, (long long)n, th);
    }
    free(w); free(wp); free(x); free(y); free(yt); free(y0);
}

typedef struct aprod {
    const tq_kmat *k;
    const tq_kact *a;
    float *y;
    const float *bias;
    int64_t n, rows, r0, r1;
    int acc;
} aprod;

/* tiles of 19 tokens x 48 outputs of [r0, r1), by AMX */
static void atile_fn(void *ctx, int task, int worker) {
    (void)worker;
    const aprod *p = ctx;
    int64_t nct = (p->r1 - p->r0 + 47) / 48, t0 = task / nct * 19, c0 = p->r0 + task % nct * 48;
    int64_t t1 = t0 + 19 < p->n ? t0 + 19 : p->n, c1 = c0 + 48 < p->r1 ? c0 + 48 : p->r1;
    tq_kact v = tq_kact_view(p->a, t0, t1);
    tq_gemm_i8_amx_bias(p->k, &v, c0, c1, p->y + t0 * p->rows, p->rows, p->acc, p->bias);
}

static void check_amx(int64_t rows, int64_t cols, int64_t n, uint64_t *rng) {
    tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL};
    int8_t *codes = malloc((size_t)(rows * cols));
    float *scale = malloc(sizeof(float) * (size_t)rows), *bias = malloc(sizeof(float) * (size_t)rows);
    for (int64_t i = 0; i < rows * cols; i++) {
        float v = tq_t_randn(rng) * 60.0f;  /* clamp first: float -> int8 out of range is UB */
        codes[i] = (int8_t)(v > 127.0f ? 127 : v < -127.0f ? -127 : (int)v);
    }
    codes[0] = -127;
    for (int64_t r = 0; r < rows; r++) { scale[r] = 0.001f * (float)(1 + r % 13); bias[r] = tq_t_randn(rng); }
    float *x = malloc(sizeof(float) * (size_t)(n * cols));
    for (int64_t i = 0; i < n * cols; i++) x[i] = tq_t_randn(rng) * (i % 7 == 0 ? 4.0f : 1.0f);
    size_t ny = (size_t)(n * rows);
    float *y0 = malloc(sizeof(float) * ny), *yv = malloc(sizeof(float) * ny), *ya = malloc(sizeof(float) * ny);
    float *yp = malloc(sizeof(float) * ny);
    for (size_t i = 0; i < ny; i++) y0[i] = (float)(i % 9) - 4.0f;
    const void *aux[TQ_MAX_AUX] = {scale};
    tq_kmat kv, kp;
    CHECK(tq_kern_prepare(&kv, &q, rows, cols, codes, aux, TQ_KISA_AVX512) == 1 && kv.isa == TQ_KISA_AVX512);
    CHECK(tq_kern_prepare(&kp, &q, rows, cols, codes, aux, TQ_KISA_PORTABLE) == 1);
    tq_kact a, ap;
    CHECK(tq_kact_init(&a, &kv, n, cols) == TQ_OK && tq_kact_init(&ap, &kp, n, cols) == TQ_OK);
    tq_kact_begin(&a, n, cols);
    tq_kact_rows(&a, x, cols, 0, n);
    tq_kact_begin(&ap, n, cols);
    tq_kact_rows(&ap, x, cols, 0, n);
    const int64_t ranges[3][2] = {{0, rows}, {rows / 5 + 3 < rows ? rows / 5 + 3 : 0, rows - rows / 7}, {rows / 2, rows / 2 + 1}};
    for (int ri = 0; ri < 3; ri++)
        for (int acc = 0; acc < 2; acc++)
            for (int bi = 0; bi < 2; bi++) {
                int64_t r0 = ranges[ri][0], r1 = ranges[ri][1];
                const float *b = bi ? bias : NULL;
                memcpy(yv, y0, sizeof(float) * ny);
                memcpy(ya, y0, sizeof(float) * ny);
                tq_gemm_i8_vnni_bias(&kv, &a, r0, r1, yv, rows, acc, b);
                tq_gemm_i8_amx_bias(&kv, &a, r0, r1, ya, rows, acc, b);
                CHECK_MSG(!memcmp(ya, yv, sizeof(float) * ny), "amx %lldx%lld n %lld [%lld,%lld) acc %d bias %d: not VNNI's bytes",
                          (long long)rows, (long long)cols, (long long)n, (long long)r0, (long long)r1, acc, bi);
                if (ri == 0 && !bi) {   /* the portable path (its bias is written first, then accumulated) */
                    memcpy(yp, y0, sizeof(float) * ny);
                    tq_kern_matmul_act(&kp, &ap, r0, r1, yp, rows, acc);
                    CHECK_MSG(!memcmp(ya, yp, sizeof(float) * ny), "amx %lldx%lld n %lld acc %d: not the portable bytes",
                              (long long)rows, (long long)cols, (long long)n, acc);
                }
                if (ri == 1 && n > 1)
                    for (int th = 1; th <= 3; th++) {
                        aprod p = {.k = &kv, .a = &a, .y = ya, .bias = b, .n = n, .rows = rows, .r0 = r0, .r1 = r1, .acc = acc};
                        memcpy(ya, y0, sizeof(float) * ny);
                        int nt = (int)((n + 18) / 19 * ((r1 - r0 + 47) / 48));
                        tq_pool_run(tq_pool_shared(th), th, nt, atile_fn, &p);
                        CHECK_MSG(!memcmp(ya, yv, sizeof(float) * ny), "amx %lldx%lld n %lld: tiles on %d threads differ",
                                  (long long)rows, (long long)cols, (long long)n, th);
                    }
            }
    tq_kact_free(&a); tq_kact_free(&ap);
    tq_kern_release(&kv); tq_kern_release(&kp);
    free(codes); free(scale); free(bias); free(x); free(y0); free(yv); free(ya); free(yp);
}

void tq_tests(void) {
    uint64_t rng = 11;
    TQ_CASE("I8 matrix x matrix, per channel and per tensor, odd shapes: every ISA the portable bytes, within the bound");
    {
        const int64_t rows[] = {1, 17, 63, 65, 130}, cols[] = {3, 77, 259, 768}, n[] = {1, 5, 67, 130};
        for (int g = 0; g < 2; g++)
            for (int r = 0; r < 5; r++)
                for (int c = 0; c < 4; c++)
                    for (int i = 0; i < 4; i++)
                        check(g ? TQ_GRAN_TENSOR : TQ_GRAN_CHANNEL, rows[r], cols[c], n[i], &rng);
        printf("  worst error / activation-quantization bound: %.3f\n", worst);
    }
    TQ_CASE("AMX-INT8 I8 product: VNNI's and the portable path's bytes, odd shapes, ranges, acc, bias, 1/2/3 threads");
    if (!tq_gemm_i8_amx_supported()) tq_t_skip("no AMX-INT8 here (CPU, OS or compiler)");
    else {
        const int64_t rows[] = {16, 100, 384, 3072}, cols[] = {64, 100, 384, 768, 3072, 40}, n[] = {1, 5, 16, 17, 31, 33, 129};
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 6; c++)
                for (int i = 0; i < 7; i++)
                    if (rows[r] * cols[c] * n[i] <= 100000000) check_amx(rows[r], cols[c], n[i], &rng);
    }
    TQ_CASE("float32 over weights packed once: within float rounding of a double reference, any tiling or thread count the same bytes");
    if (!tq_gemm_f32_supported()) tq_t_skip("neither AVX-512 nor AVX2 + FMA on this CPU");
    else {
        const int64_t rows[] = {16, 48, 80, 272}, cols[] = {1, 3, 77, 259}, n[] = {1, 3, 5, 37, 70};
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                for (int i = 0; i < 5; i++) check_f32(rows[r], cols[c], n[i], &rng);
        float w[17 * 3] = {0};
        CHECK(tq_gemm_f32_pack(w, 17, 3) == -1);   /* rows not a multiple of 16 */
    }
    TQ_CASE("the AVX-512 and AVX2 activation quantizers give the C quantizer's codes and scales (zeros, huge, inf, NaN)");
    if (!tq_kern_isa_supported(TQ_KISA_AVX2)) tq_t_skip("no AVX2 on this CPU");
    for (int isa = TQ_KISA_AVX2; isa <= TQ_KISA_AVX512; isa++) {
        if (!tq_kern_isa_supported((tq_kisa)isa)) continue;
        tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL};
        const int Cs[] = {83, 32, 200};
        for (int ci = 0; ci < 3; ci++) {
            enum { N = 10 };
            const int C = Cs[ci];
            int8_t *codes = calloc((size_t)(4 * C), 1);
            float scale[4] = {1, 1, 1, 1};
            const void *aux[TQ_MAX_AUX] = {scale};
            tq_kmat kp, kv;
            CHECK(tq_kern_prepare(&kp, &q, 4, C, codes, aux, TQ_KISA_PORTABLE) == 1);
            CHECK(tq_kern_prepare(&kv, &q, 4, C, codes, aux, (tq_kisa)isa) == 1);
            float *x = malloc(sizeof(float) * (size_t)(N * C));
            for (int i = 0; i < N * C; i++) x[i] = tq_t_randn(&rng) * (float)(1 + i % 3);
            for (int c = 0; c < C; c++) x[C + c] = 0.0f;
            x[2 * C + 5] = 3e38f;
            x[3 * C + 9] = INFINITY;
            x[4 * C + 1] = NAN;
            x[5 * C + C - 3] = -1e-30f;
            for (int c = 0; c < C; c++) x[6 * C + c] = (float)(c - 41) * 0.5f;   /* exact halves: ties to even */
            /* scales either side of the AVX-512 quantizer's fast path (a normal
             * scale max / 127): subnormal values (the scale subnormal, 1 / scale
             * inf), a maximum just above 127 FLT_MIN, and one of 127 x 3: codes
             * x / d on integers and halves */
            for (int c = 0; c < C; c++) x[7 * C + c] = (float)(c % 7 - 3) * 1e-39f;
            for (int c = 0; c < C; c++) x[8 * C + c] = tq_t_randn(&rng) * 30.0f * FLT_MIN;
            x[8 * C + 4] = 127.0f * 1.0001f * FLT_MIN;
            for (int c = 0; c < C; c++) x[9 * C + c] = (float)(c % 255 - 127) * 1.5f;
            tq_kact ap, av;
            CHECK(tq_kact_init(&ap, &kp, N, C) == TQ_OK && tq_kact_init(&av, &kv, N, C) == TQ_OK);
            /* AVX-512 code wherever the CPU has it, else the AVX2 code */
            CHECK(ap.vec == 0 && av.vec == (tq_kern_isa_supported(TQ_KISA_AVX512) ? 1 : 2));
            tq_kact_begin(&ap, N, C);
            tq_kact_begin(&av, N, C);
            tq_kact_rows(&ap, x, C, 0, N);
            tq_kact_rows(&av, x, C, 0, N);
            int64_t kq = (C + 63) / 64 * 64;
            for (int i = 0; i < N; i++) {
                CHECK_MSG(!memcmp(ap.q + i * ap.kpad, av.q + i * av.kpad, (size_t)kq), "%s C %d row %d: codes differ",
                          tq_kern_isa_name((tq_kisa)isa), C, i);
                CHECK_MSG(!memcmp(&ap.d[i], &av.d[i], sizeof(float)), "row %d: scale %g vs %g", i, (double)ap.d[i],
                          (double)av.d[i]);
                int off = 1;
                for (int64_t c = 0; c < kq; c++) {
                    int v = av.q[i * av.kpad + c];
                    off &= av.qa[i * av.kpad + c] == (uint8_t)(av.fmt % 2 ? v + 128 : v < 0 ? -v : v);
                }
                CHECK_MSG(off, "%s row %d: qa is not q + 128 (offset rows) or |q|", tq_kern_isa_name((tq_kisa)isa), i);
            }
            tq_kact_free(&ap); tq_kact_free(&av);
            tq_kern_release(&kp); tq_kern_release(&kv);
            free(codes); free(x);
        }
    }
    TQ_CASE("softmax: exp within 2e-7 relative of exp in double, 0 below -86; rows against a double reference");
    {
        double wr = 0;
        for (float v = -86.0f; v <= 88.0f; v += 0.00731f) {
            double e = exp((double)v), got = tq_softmax_exp(v);
            wr = fabs(got - e) / e > wr ? fabs(got - e) / e : wr;
        }
        CHECK_MSG(wr < 2e-7, "worst relative error %.3g", wr);
        CHECK(tq_softmax_exp(-86.5f) == 0.0f && tq_softmax_exp(-INFINITY) == 0.0f && tq_softmax_exp(0.0f) == 1.0f);
        const int ns[] = {1, 5, 16, 17, 128, 131};
        for (int t = 0; t < 6; t++) {
            int n = ns[t];
            float r[131], r0[131];
            int32_t mask[131];
            for (int j = 0; j < n; j++) {
                r0[j] = tq_t_randn(&rng) * 6.0f;
                mask[j] = j % 4 != 3 || n == 1;
            }
            for (int m = 0; m < 2; m++) {
                memcpy(r, r0, sizeof r);
                tq_softmax_row(r, n, m ? mask : NULL, 8.0f);
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < n; j++)
                    if (!m || mask[j]) mx = r0[j] / 8.0 > mx ? r0[j] / 8.0 : mx;
                for (int j = 0; j < n; j++)
                    if (!m || mask[j]) sum += exp(r0[j] / 8.0 - mx);
                double err = 0;
                int zero = 1;
                for (int j = 0; j < n; j++) {
                    if (m && !mask[j]) { zero &= r[j] == 0.0f; continue; }
                    double want = exp(r0[j] / 8.0 - mx) / sum;
                    err = fabs(r[j] - want) > err ? fabs(r[j] - want) : err;
                }
                CHECK_MSG(err < 1e-6 && zero, "n %d mask %d: max error %.3g, masked zero %d", n, m, err, zero);
            }
        }
    }
}
