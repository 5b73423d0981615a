/*
 * bench_attn_i8.c — one attention head, float32 against int8 (src/kern/attn_i8.c),
 * single-threaded, CPU time (ratios, never asserted).
 *
 *   bench_attn_i8 [SEQ HEAD_SIZE] [CALLS]    (default 128 32 2000: an all-MiniLM-L6-v2
 *                                             head of 128 tokens; 64 for DistilBERT)
 *
 * q, k and v are one head's columns of a fused [SEQ, 3 x 12 x HEAD_SIZE]
 * buffer, as the encoder holds them. Prints microseconds per head: OpenBLAS
 * sgemm for q k^T plus p v (what the float path runs), the int8 scores and
 * context of every ISA this CPU runs (quantization included), and the
 * softmax between them (tq_softmax_rows, the same on both paths).
 */
#include "kern/attn_i8.h"
#include "nn/ops/softmax.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int S = argc > 2 ? atoi(argv[1]) : 128, hs = argc > 2 ? atoi(argv[2]) : 32;
    int calls = argc > 3 ? atoi(argv[3]) : argc == 2 ? atoi(argv[1]) : 2000;
    if (S < 1 || hs < 1 || calls < 1) {
        fprintf(stderr, "usage: bench_attn_i8 [SEQ HEAD_SIZE] [CALLS]\n");
        return 2;
    }
    int D = 12 * hs, ld = 3 * D;
    float *qkv = malloc(sizeof(float) * (size_t)S * ld), *sc = malloc(sizeof(float) * (size_t)S * S),
          *p = malloc(sizeof(float) * (size_t)S * S), *ctx = malloc(sizeof(float) * (size_t)S * D);
    void *ws = aligned_alloc(64, (tq_attn_i8_scratch(S, hs) + 63) / 64 * 64);
    if (!qkv || !sc || !p || !ctx || !ws) return 1;
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < (size_t)S * ld; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        qkv[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    }
    openblas_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, hs, 1.0f, qkv, ld, qkv + D, ld, 0.0f, p, S);
    tq_softmax_rows(p, S, S, NULL, 0.0f);   /* the probabilities p v meets */
    double t0 = cpu_s();
    for (int n = 0; n < calls; n++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, hs, 1.0f, qkv, ld, qkv + D, ld, 0.0f, sc, S);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, hs, S, 1.0f, p, S, qkv + 2 * D, ld, 0.0f, ctx, D);
    }
    double t1 = cpu_s();
    for (int n = 0; n < calls; n++) {
        for (int i = 0; i < S * S; i++) sc[i] = p[i];
        tq_softmax_rows(sc, S, S, NULL, 0.0f);
    }
    double t2 = cpu_s();
    printf("bench_attn_i8 seq=%d head=%d sgemm_us=%.2f softmax_us=%.2f (incl. a copy)\n", S, hs,
           (t1 - t0) / calls * 1e6, (t2 - t1) / calls * 1e6);
    static const tq_kisa isas[] = {TQ_KISA_PORTABLE, TQ_KISA_AVX512};
    for (int k = 0; k < 2; k++) {
        if (tq_attn_i8_isa(isas[k]) != isas[k]) continue;
        int n_calls = isas[k] == TQ_KISA_PORTABLE ? (calls + 19) / 20 : calls;   /* the reference is slow */
        double a = cpu_s();
        for (int n = 0; n < n_calls; n++) tq_attn_i8_scores(qkv, qkv + D, ld, S, hs, sc, ws, isas[k]);
        double b = cpu_s();
        for (int n = 0; n < n_calls; n++) tq_attn_i8_context(p, qkv + 2 * D, ld, NULL, S, hs, ctx, D, ws, isas[k]);
        double c = cpu_s();
        for (int n = 0; n < n_calls; n++) tq_attn_i8_probs(qkv, qkv + D, ld, NULL, S, hs, 0.0f, ws, isas[k]);
        double d = cpu_s();
        for (int n = 0; n < n_calls; n++) tq_attn_i8_attend(qkv + 2 * D, ld, NULL, S, hs, ctx, D, ws, isas[k]);
        double e = cpu_s();
        printf("bench_attn_i8 seq=%d head=%d isa=%s scores_us=%.2f context_us=%.2f probs_us=%.2f (scores + softmax"
               " + p codes) attend_us=%.2f\n", S, hs, isas[k] == TQ_KISA_AVX512 ? "avx512" : "portable",
               (b - a) / n_calls * 1e6, (c - b) / n_calls * 1e6, (d - c) / n_calls * 1e6, (e - d) / n_calls * 1e6);
    }
    free(qkv); free(sc); free(p); free(ctx); free(ws);
    return 0;
}
