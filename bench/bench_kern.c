/*
 * bench_kern.c — kernel throughput over stored codes next to OpenBLAS sgemm
 * on the same shape, in one run (ratios, never asserted).
 *
 *   bench_kern [N ROWS COLS] [REPS]     (default 1024 2304 768: a DistilBERT
 *                                        q/k/v product of 8 x 128 tokens)
 *
 * Prints one line per (kind, ISA this CPU runs): best seconds, GMAC/s and
 * the ratio to sgemm; single-threaded. kind=f32-packed is tq_gemm_f32 over
 * the same weights packed once (the encoder's float32 projections): the
 * dispatched kernel, the AVX2 one, and the AVX-512 one with the K-block this
 * CPU does not use (kblock= the columns per K-block; cols: none).
 */
#include "kern/kern.h"
#include "kern/gemm_f32.h"
#include "kern/gemm_i8_avx512.h"
#include "kern/gemm_i8_amx.h"
#include "kern/kern_impl.h"
#include "ggml/ggml_types.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int64_t n = argc > 3 ? atoll(argv[1]) : 1024, rows = argc > 3 ? atoll(argv[2]) : 2304, cols = argc > 3 ? atoll(argv[3]) : 768;
    int reps = argc > 4 ? atoi(argv[4]) : argc == 2 ? atoi(argv[1]) : 3;
    if (n < 1 || rows < 1 || cols < 32 || cols % 32 || reps < 1) { fprintf(stderr, "usage: bench_kern [N ROWS COLS] [REPS] (COLS a multiple of 32)\n"); return 2; }
    openblas_set_num_threads(1);
    float *w = malloc(sizeof(float) * (size_t)(rows * cols)), *x = malloc(sizeof(float) * (size_t)(n * cols));
    float *y = malloc(sizeof(float) * (size_t)(n * rows));
    uint64_t s = 1;
    for (int64_t i = 0; i < rows * cols; i++) { s = s * 6364136223846793005ULL + 1; w[i] = (float)((int64_t)(s >> 40) % 2001 - 1000) / 1000.0f; }
    for (int64_t i = 0; i < n * cols; i++) { s = s * 6364136223846793005ULL + 1; x[i] = (float)((int64_t)(s >> 40) % 2001 - 1000) / 1000.0f; }
    double macs = (double)n * rows * cols, best = 1e9;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)rows, (int)cols, 1.0f, x, (int)cols, w, (int)cols, 0.0f, y, (int)rows);
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    double sg = best;
    printf("bench_kern kind=f32-sgemm isa=openblas n=%lld rows=%lld cols=%lld best_s=%.5f gmacs=%.2f ratio=1.00\n",
           (long long)n, (long long)rows, (long long)cols, sg, macs / sg * 1e-9);
    /* the float32 product over weights packed once (tq_gemm_f32), each
     * kernel this CPU runs */
    if (tq_gemm_f32_supported()) {
        float *wp = malloc(sizeof(float) * (size_t)(rows * cols));
        memcpy(wp, w, sizeof(float) * (size_t)(rows * cols));
        if (rows % 16 == 0 && tq_gemm_f32_pack(wp, rows, cols) == 0) {
            /* kv 0: tq_gemm_f32 (AVX-512 with this CPU's K-block, or AVX2);
             * 1: the AVX2 kernel; 2: the AVX-512 kernel with the other K-block
             * (128 where this CPU runs all K at once, and all K elsewhere) */
            int has512 = tq_kern_isa_supported(TQ_KISA_AVX512);
            int64_t kb = tq_gemm_f32_kblock(), kb2 = kb ? 0 : 128;
            for (int kv = 0; kv < 3; kv++) {
                if (kv == 1 && !tq_kern_isa_supported(TQ_KISA_AVX2)) continue;
                if (kv == 2 && !has512) break;
                memset(y, 0, sizeof(float) * (size_t)(n * rows));
                best = 1e9;
                for (int r = 0; r < reps; r++) {
                    double t0 = now_s();
                    if (kv == 0) tq_gemm_f32(wp, cols, x, cols, n, 0, rows, y, rows);
                    else if (kv == 1) tq_gemm_f32_avx2(wp, cols, x, cols, n, 0, rows, y, rows);
                    else tq_gemm_f32_avx512_kb_bias(wp, cols, x, cols, n, 0, rows, y, rows, NULL, 1, kb2);
                    double t = now_s() - t0;
                    best = t < best ? t : best;
                }
                int64_t kbv = kv == 0 ? kb : kb2;
                printf("bench_kern kind=f32-packed isa=%s kblock=%lld n=%lld rows=%lld cols=%lld best_s=%.5f gmacs=%.2f ratio=%.2f\n",
                       kv == 1 || !has512 ? "avx2" : "avx512", kv == 1 || !has512 ? (long long)cols : (long long)(kbv ? kbv : cols),
                       (long long)n, (long long)rows, (long long)cols, best, macs / best * 1e-9, sg / best);
                if (kv == 0 && !has512) break;
            }
        }
        free(wp);
    }
    const struct { const char *name; tq_qparams q; } kinds[] = {
        {"i8-channel", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL}},
        {"q8_0", {.codec = TQ_CODEC_GGML, .bits = 8, .gran = TQ_GRAN_GROUP, .group = 32, .ggml_type = TQ_GGML_Q8_0}},
        {"q4_0", {.codec = TQ_CODEC_GGML, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 32, .ggml_type = TQ_GGML_Q4_0}},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        tq_dtype cd;
        int64_t cs[2];
        tq_aux_desc ad[TQ_MAX_AUX];
        int na = tq_qparams_layout(&kinds[k].q, rows, cols, &cd, cs, ad);
        void *codes = malloc(tq_nbytes(cd, 2, cs)), *aux[TQ_MAX_AUX] = {0};
        for (int a = 0; a < na; a++) aux[a] = malloc(tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 1);
        tq_error err = {0};
        if (tq_quantize(&kinds[k].q, "w", w, rows, cols, codes, aux, 0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        for (int isa = 0; isa < TQ_KISA_COUNT; isa++) {
            if (!tq_kern_isa_supported((tq_kisa)isa)) continue;
            tq_kmat km;
            if (tq_kern_prepare(&km, &kinds[k].q, rows, cols, codes, (const void *const *)aux, (tq_kisa)isa) != 1) continue;
            if ((int)km.isa != isa) { tq_kern_release(&km); continue; }
            /* the portable path is slow: one run of a smaller share */
            int64_t nn = isa == TQ_KISA_PORTABLE ? (n > 16 ? 16 : n) : n;
            best = 1e9;
            for (int r = 0; r < (isa == TQ_KISA_PORTABLE ? 1 : reps); r++) {
                double t0 = now_s();
                tq_kern_matmul(&km, x, cols, nn, 0, rows, y, rows, 0);
                double t = now_s() - t0;
                best = t < best ? t : best;
            }
            double m = (double)nn * rows * cols;
            printf("bench_kern kind=%s isa=%s n=%lld rows=%lld cols=%lld best_s=%.5f gmacs=%.2f ratio=%.2f\n", kinds[k].name,
                   tq_kern_isa_name((tq_kisa)isa), (long long)nn, (long long)rows, (long long)cols, best, m / best * 1e-9,
                   (m / best) / (macs / sg));
            /* i8 at avx512: VNNI only (TRUEQ_ISA=avx512), then AMX where it runs */
            if (k == 0 && isa == TQ_KISA_AVX512 && tq_gemm_i8_amx_supported()) {
                double bv = 1e9, ba = 1e9;
                const char *old = getenv("TRUEQ_ISA");
                for (int r = 0; r < reps; r++)
                    for (int amx = 0; amx < 2; amx++) {
                        if (amx) { if (old) setenv("TRUEQ_ISA", old, 1); else unsetenv("TRUEQ_ISA"); }
                        else setenv("TRUEQ_ISA", "avx512", 1);
                        double t0 = now_s();
                        tq_kern_matmul(&km, x, cols, n, 0, rows, y, rows, 0);
                        double t = now_s() - t0;
                        if (amx) ba = t < ba ? t : ba;
                        else bv = t < bv ? t : bv;
                    }
                if (old) setenv("TRUEQ_ISA", old, 1); else unsetenv("TRUEQ_ISA");
                const char *nm[2] = {"vnni", "amx"};
                double bt[2] = {bv, ba};
                for (int u = 0; u < 2; u++)
                    printf("bench_kern kind=%s isa=%s n=%lld rows=%lld cols=%lld best_s=%.5f gmacs=%.2f ratio=%.2f\n",
                           kinds[k].name, nm[u], (long long)n, (long long)rows, (long long)cols, bt[u],
                           macs / bt[u] * 1e-9, (macs / bt[u]) / (macs / sg));
            }
            tq_kern_release(&km);
        }
        free(codes);
        for (int a = 0; a < TQ_MAX_AUX; a++) free(aux[a]);
    }
    free(w); free(x); free(y);
    return 0;
}
