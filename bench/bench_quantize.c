/*
 * bench_quantize.c — quantize throughput (GB/s of float32 in) next to memcpy
 * of the same bytes, in one run on the same machine. Reported as a ratio.
 * usage: bench_quantize [MB] [reps]   (default 256 MB of float32, 5 reps; best time kept)
 */
#include "trueq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec; }

int main(int argc, char **argv) {
    int64_t mb = argc > 1 ? atoll(argv[1]) : 256, reps = argc > 2 ? atoll(argv[2]) : 5;
    const int64_t cols = 768, rows = mb * 1000000 / 4 / cols;
    const int64_t n = rows * cols;
    float *w = malloc(sizeof(float) * (size_t)n), *dst = malloc(sizeof(float) * (size_t)n);
    uint64_t s = 88172645463325252ull;
    for (int64_t i = 0; i < n; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; w[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.1f; }
    memcpy(dst, w, sizeof(float) * (size_t)n);
    double best_cp = 1e9;
    for (int r = 0; r < reps; r++) { double t0 = now(); memcpy(dst, w, sizeof(float) * (size_t)n); double t = now() - t0; if (t < best_cp) best_cp = t; }
    double gb = (double)n * 4 / 1e9;
    printf("input: %lld x %lld float32 = %.3f GB; memcpy %.2f GB/s\n", (long long)rows, (long long)cols, gb, gb / best_cp);
    printf("%-28s %10s %12s %10s\n", "codec", "GB/s", "x memcpy", "decode GB/s");
    static const struct { tq_codec_id c; int bits; tq_granularity g; int64_t grp; int ggml; } V[] = {
        {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_CHANNEL, 0, 0}, {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_TENSOR, 0, 0},
        {TQ_CODEC_LINEAR_SYM, 4, TQ_GRAN_GROUP, 64, 0}, {TQ_CODEC_LINEAR_SYM, 2, TQ_GRAN_GROUP, 64, 0},
        {TQ_CODEC_LINEAR_AFFINE, 8, TQ_GRAN_CHANNEL, 0, 0}, {TQ_CODEC_LINEAR_AFFINE, 4, TQ_GRAN_GROUP, 64, 0},
        {TQ_CODEC_GGML, 8, TQ_GRAN_GROUP, 32, 8 /* Q8_0 */},
    };
    for (size_t v = 0; v < sizeof V / sizeof V[0]; v++) {
        tq_qparams p = {V[v].c, V[v].bits, V[v].g, V[v].grp, 0, 0, V[v].ggml, 0};
        tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
        int na = tq_qparams_layout(&p, rows, cols, &cd, cs, ad);
        void *codes = malloc(tq_nbytes(cd, 2, cs)), *aux[TQ_MAX_AUX] = {0};
        for (int a = 0; a < na; a++) aux[a] = malloc(tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 8);
        tq_error e;
        double best = 1e9, bestd = 1e9;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            if (tq_quantize(&p, "bench", w, rows, cols, codes, aux, 0, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
            double t = now() - t0; if (t < best) best = t;
            t0 = now();
            tq_dequantize(&p, rows, cols, codes, (const void *const *)aux, dst, &e);
            t = now() - t0; if (t < bestd) bestd = t;
        }
        char qs[64];
        printf("%-28s %10.2f %12.2f %10.2f\n", tq_qparams_str(&p, qs, sizeof qs), gb / best, (gb / best) / (gb / best_cp), gb / bestd);
        free(codes);
        for (int a = 0; a < na; a++) free(aux[a]);
    }
    free(w); free(dst);
    return 0;
}
